# evgate: the OCPP central system and config API in one process.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.lock pyproject.toml README.md ./
RUN pip install --no-cache-dir -r requirements.lock
COPY gateway ./gateway
COPY metering ./metering
COPY tariffs ./tariffs
COPY store ./store
COPY billing ./billing
COPY services ./services
COPY config ./config
COPY portal ./portal
COPY simulators ./simulators
COPY mail ./mail
RUN pip install --no-cache-dir --no-deps .
ENV EVGATE_HOST=0.0.0.0 \
    EVGATE_DATABASE_URL=sqlite+aiosqlite:////data/evgate.db
VOLUME /data
EXPOSE 9000 8080
CMD ["evgate", "serve"]
