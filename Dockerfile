FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas schemas
COPY streams streams
COPY agents agents
RUN pip install --no-cache-dir .
COPY ops ops
EXPOSE 6066
CMD ["logwarden", "worker"]
