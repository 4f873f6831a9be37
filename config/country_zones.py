"""Which IANA time zone a CDR's country means, for `evgate tariffs price` without --tz.

OCPI 2.2.1's CdrLocation has a country (ISO 3166-1 alpha-3, "NOR") but no time zone. tzdata's
own zone.tab lists each country's zones by alpha-2 code; the alpha-3 to alpha-2 table below is
ISO 3166-1 (249 codes; a test checks it against tzdata's iso3166.tab). A country's zones that
keep the same clock over the CDR's whole span count as one (Germany's Busingen keeps Berlin
time), so only a real choice (USA, AUS, Spain's Canary Islands) is ambiguous.

This is the shell's guess about a file a user handed it, so it lives here and not in the pure
tariffs package: billing always prices with the site's own zone.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

# ISO 3166-1 alpha-3:alpha-2
_ALPHA3 = """
    ABW:AW AFG:AF AGO:AO AIA:AI ALA:AX ALB:AL AND:AD ARE:AE ARG:AR ARM:AM ASM:AS ATA:AQ
    ATF:TF ATG:AG AUS:AU AUT:AT AZE:AZ BDI:BI BEL:BE BEN:BJ BES:BQ BFA:BF BGD:BD BGR:BG
    BHR:BH BHS:BS BIH:BA BLM:BL BLR:BY BLZ:BZ BMU:BM BOL:BO BRA:BR BRB:BB BRN:BN BTN:BT
    BVT:BV BWA:BW CAF:CF CAN:CA CCK:CC CHE:CH CHL:CL CHN:CN CIV:CI CMR:CM COD:CD COG:CG
    COK:CK COL:CO COM:KM CPV:CV CRI:CR CUB:CU CUW:CW CXR:CX CYM:KY CYP:CY CZE:CZ DEU:DE
    DJI:DJ DMA:DM DNK:DK DOM:DO DZA:DZ ECU:EC EGY:EG ERI:ER ESH:EH ESP:ES EST:EE ETH:ET
    FIN:FI FJI:FJ FLK:FK FRA:FR FRO:FO FSM:FM GAB:GA GBR:GB GEO:GE GGY:GG GHA:GH GIB:GI
    GIN:GN GLP:GP GMB:GM GNB:GW GNQ:GQ GRC:GR GRD:GD GRL:GL GTM:GT GUF:GF GUM:GU GUY:GY
    HKG:HK HMD:HM HND:HN HRV:HR HTI:HT HUN:HU IDN:ID IMN:IM IND:IN IOT:IO IRL:IE IRN:IR
    IRQ:IQ ISL:IS ISR:IL ITA:IT JAM:JM JEY:JE JOR:JO JPN:JP KAZ:KZ KEN:KE KGZ:KG KHM:KH
    KIR:KI KNA:KN KOR:KR KWT:KW LAO:LA LBN:LB LBR:LR LBY:LY LCA:LC LIE:LI LKA:LK LSO:LS
    LTU:LT LUX:LU LVA:LV MAC:MO MAF:MF MAR:MA MCO:MC MDA:MD MDG:MG MDV:MV MEX:MX MHL:MH
    MKD:MK MLI:ML MLT:MT MMR:MM MNE:ME MNG:MN MNP:MP MOZ:MZ MRT:MR MSR:MS MTQ:MQ MUS:MU
    MWI:MW MYS:MY MYT:YT NAM:NA NCL:NC NER:NE NFK:NF NGA:NG NIC:NI NIU:NU NLD:NL NOR:NO
    NPL:NP NRU:NR NZL:NZ OMN:OM PAK:PK PAN:PA PCN:PN PER:PE PHL:PH PLW:PW PNG:PG POL:PL
    PRI:PR PRK:KP PRT:PT PRY:PY PSE:PS PYF:PF QAT:QA REU:RE ROU:RO RUS:RU RWA:RW SAU:SA
    SDN:SD SEN:SN SGP:SG SGS:GS SHN:SH SJM:SJ SLB:SB SLE:SL SLV:SV SMR:SM SOM:SO SPM:PM
    SRB:RS SSD:SS STP:ST SUR:SR SVK:SK SVN:SI SWE:SE SWZ:SZ SXM:SX SYC:SC SYR:SY TCA:TC
    TCD:TD TGO:TG THA:TH TJK:TJ TKL:TK TKM:TM TLS:TL TON:TO TTO:TT TUN:TN TUR:TR TUV:TV
    TWN:TW TZA:TZ UGA:UG UKR:UA UMI:UM URY:UY USA:US UZB:UZ VAT:VA VCT:VC VEN:VE VGB:VG
    VIR:VI VNM:VN VUT:VU WLF:WF WSM:WS YEM:YE ZAF:ZA ZMB:ZM ZWE:ZW
"""
ALPHA3_TO_ALPHA2: dict[str, str] = dict(pair.split(":") for pair in _ALPHA3.split())

# the clock is compared at the CDR's own instants and every hour between (a month at most)
_STEP = timedelta(hours=1)
_MAX_SAMPLES = 31 * 24


@dataclass(frozen=True, slots=True)
class Inference:
    """The zone found for a country, or why there is none (``zone`` None, ``candidates``)."""

    zone: str | None
    candidates: tuple[str, ...] = ()
    known: bool = True


@cache
def zones_by_country() -> dict[str, tuple[str, ...]]:
    """alpha-2 -> zones, in tzdata's zone.tab order (the country's main zone first)."""
    try:
        tab = importlib.resources.files("tzdata").joinpath("zoneinfo", "zone.tab")
        text = tab.read_text("utf-8")
    except (ModuleNotFoundError, OSError):  # tzdata is a runtime dependency; be safe anyway
        return {}
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        code, _coordinates, zone, *_comment = line.split("\t")
        out.setdefault(code, []).append(zone)
    return {code: tuple(zones) for code, zones in out.items()}


def infer_zone(country: str, instants: Iterable[datetime]) -> Inference:
    """The one zone of ``country`` (alpha-3, or alpha-2 as some CPOs send) over ``instants``."""
    code = country.strip().upper()
    alpha2 = ALPHA3_TO_ALPHA2.get(code) if len(code) == 3 else code
    zones = zones_by_country().get(alpha2 or "", ())
    if not zones:
        return Inference(None, known=False)
    if len(zones) == 1 or _same_clock(zones, _samples(sorted(instants))):
        return Inference(zones[0], zones)
    return Inference(None, zones)


def _samples(instants: list[datetime]) -> list[datetime]:
    if not instants:
        return []
    out, t = list(instants), instants[0]
    while t < instants[-1] and len(out) < _MAX_SAMPLES:
        t += _STEP
        out.append(t)
    return out


def _same_clock(zones: tuple[str, ...], instants: list[datetime]) -> bool:
    if not instants:
        return False
    infos = [ZoneInfo(z) for z in zones]
    return all(len({t.astimezone(z).utcoffset() for z in infos}) == 1 for t in instants)
