FROM python:3.11-slim
WORKDIR /app
# setup.py builds the optional compiled prefilter (agents/extract/_scan.c) where a C
# compiler is present; this slim image has none, so the pure-Python scan runs (same
# answers, slower: ops/bench/README.md).
COPY pyproject.toml setup.py README.md ./
COPY schemas schemas
COPY streams streams
COPY agents agents
RUN pip install --no-cache-dir .
COPY ops ops
EXPOSE 6066
CMD ["logwarden", "worker"]
