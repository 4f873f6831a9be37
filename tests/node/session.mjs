// One charging session driven by ocpp-rpc's RPCClient in strict mode: every call we send and
// every answer evgate gives is validated against the official OCPP JSON schemas, so a reply
// that breaks the schema fails here even where our own checks would let it through.
// Usage: node session.mjs ENDPOINT IDENTITY PROTOCOL ID_TAG
// Prints one JSON object: the answers, in order, keyed by step.
import { RPCClient } from "ocpp-rpc";

const [endpoint, identity, protocol, idTag] = process.argv.slice(2);
const client = new RPCClient({
  endpoint,
  identity,
  protocols: [protocol],
  strictMode: true,
  reconnect: false,
  callTimeoutMs: 10000,
});

const t0 = Date.parse("2026-11-03T08:00:00Z");
const at = (minutes) => new Date(t0 + minutes * 60000).toISOString();
const answers = {};

async function ocpp16() {
  answers.boot = await client.call("BootNotification", {
    chargePointVendor: "Wallbox", chargePointModel: "Pulsar Plus", firmwareVersion: "5.17.0",
  });
  answers.heartbeat = await client.call("Heartbeat", {});
  answers.status = await client.call("StatusNotification", {
    connectorId: 1, errorCode: "NoError", status: "Preparing", timestamp: at(0),
  });
  answers.authorize = await client.call("Authorize", { idTag });
  answers.start = await client.call("StartTransaction", {
    connectorId: 1, idTag, meterStart: 1000, timestamp: at(0),
  });
  const transactionId = answers.start.transactionId;
  answers.meter = await client.call("MeterValues", {
    connectorId: 1, transactionId,
    meterValue: [{ timestamp: at(30), sampledValue: [
      { value: "4700", measurand: "Energy.Active.Import.Register", unit: "Wh", context: "Sample.Periodic" },
    ] }],
  });
  answers.stop = await client.call("StopTransaction", {
    transactionId, idTag, meterStop: 8400, timestamp: at(60), reason: "EVDisconnected",
  });
}

async function ocpp201() {
  const evse = { id: 1, connectorId: 1 };
  const energy = (wh, context) => ({
    value: wh, context, measurand: "Energy.Active.Import.Register", unitOfMeasure: { unit: "Wh" },
  });
  const event = (eventType, seqNo, minutes, triggerReason, chargingState, wh, context, extra = {}) =>
    client.call("TransactionEvent", {
      eventType, seqNo, timestamp: at(minutes), triggerReason, evse,
      transactionInfo: { transactionId: "rpc-tx-1", chargingState, ...(extra.info || {}) },
      meterValue: [{ timestamp: at(minutes), sampledValue: [energy(wh, context)] }],
      ...(extra.top || {}),
    });
  answers.boot = await client.call("BootNotification", {
    reason: "PowerUp",
    chargingStation: { model: "Pulsar Plus", vendorName: "Wallbox", firmwareVersion: "6.0.0" },
  });
  answers.heartbeat = await client.call("Heartbeat", {});
  answers.status = await client.call("StatusNotification", {
    timestamp: at(0), connectorStatus: "Occupied", evseId: 1, connectorId: 1,
  });
  answers.authorize = await client.call("Authorize", { idToken: { idToken: idTag, type: "ISO14443" } });
  answers.start = await event("Started", 0, 0, "Authorized", "Charging", 1000, "Transaction.Begin", {
    top: { idToken: { idToken: idTag, type: "ISO14443" } },
  });
  answers.meter = await event("Updated", 1, 30, "MeterValuePeriodic", "Charging", 4700, "Sample.Periodic");
  answers.stop = await event("Ended", 2, 60, "EVCommunicationLost", "Idle", 8400, "Transaction.End", {
    info: { stoppedReason: "EVDisconnected" },
  });
}

try {
  await client.connect();
  await (protocol === "ocpp1.6" ? ocpp16() : ocpp201());
  await client.close({ code: 1000 });
  console.log(JSON.stringify({ ok: true, protocol: client.protocol, answers }));
} catch (err) {
  console.log(JSON.stringify({ ok: false, error: String(err && (err.stack || err)), answers }));
  process.exitCode = 1;
  try { await client.close({ force: true }); } catch {}
}
