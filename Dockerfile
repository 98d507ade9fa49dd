# One image for every role of the skuber agent (see DESIGN.md): `python -m collector run|operator`.
#
#   podman build --isolation chroot --network host --pull=never -t skuber-agent .
#
# Debian's python3 because BCC's Python binding (python3-bpfcc) is built for it; the project and
# its pinned dependencies live in a venv that sees only that one system package.

ARG DEBIAN_IMAGE=docker.io/library/debian:bookworm-slim

# --- the generic kernel headers tree, for hosts that ship none (BCC compiles against it) ------
# linux-headers-amd64 drags gcc in through linux-kbuild; only /usr/src is copied out of here.
FROM ${DEBIAN_IMAGE} AS headers
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends linux-headers-amd64 \
 && rm -rf /var/lib/apt/lists/*

# --- the venv: pinned wheels only (manylinux wheels exist for all of them: no compiler) -------
FROM ${DEBIAN_IMAGE} AS venv
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/skuber/venv
# Behind a TLS-intercepting proxy, hand pip the proxy's CA without baking it into the image:
#   podman build --volume /etc/ssl/certs:/run/host-certs:ro \
#     --build-arg BUILD_CA_BUNDLE=/run/host-certs/ca-certificates.crt ...
ARG BUILD_CA_BUNDLE=""
COPY deploy/requirements.lock /tmp/requirements.lock
# (this stage is discarded: the pip.conf never reaches the final image)
RUN if [ -n "$BUILD_CA_BUNDLE" ]; then printf '[global]\ncert = %s\n' "$BUILD_CA_BUNDLE" > /etc/pip.conf; fi \
 && /opt/skuber/venv/bin/pip install --no-cache-dir --only-binary=:all: -r /tmp/requirements.lock
COPY pyproject.toml README.md /src/
COPY collector /src/collector
COPY ebpf /src/ebpf
RUN /opt/skuber/venv/bin/pip install --no-cache-dir --no-deps /src \
 && find /opt/skuber/venv -name '__pycache__' -prune -exec rm -rf {} +

# --- runtime ----------------------------------------------------------------------------------
FROM ${DEBIAN_IMAGE}
LABEL org.opencontainers.image.title="skuber-agent" \
      org.opencontainers.image.description="Skuber+ Observability agent: OpenTelemetry-Collector-style agent in Python"
# python3-bpfcc brings libbpfcc (with its embedded LLVM/clang, what BCC needs at run time) and no
# compiler driver; ca-certificates for TLS to the gateway.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-bpfcc ca-certificates \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc/* /usr/share/man/*
COPY --from=venv /opt/skuber/venv /opt/skuber/venv
# In the APM pod /usr/src is the host's; the image's generic tree lives apart from it.
COPY --from=headers /usr/src /opt/skuber/kernel-headers
# Expose Debian's bcc package, and only it, to the venv.
RUN mkdir -p /opt/skuber/bcc-path \
 && ln -s /usr/lib/python3/dist-packages/bcc /opt/skuber/bcc-path/bcc \
 && echo /opt/skuber/bcc-path > "$(/opt/skuber/venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/debian_bcc.pth" \
 && groupadd --system --gid 10001 skuber \
 && useradd --system --uid 10001 --gid skuber --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin skuber \
 && /opt/skuber/venv/bin/python -c "import collector, ebpf"

ENV PATH=/opt/skuber/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# Non-root by default; the node agent and the APM agent ask for uid 0 in their pod spec.
USER 10001:10001
WORKDIR /tmp
EXPOSE 4317 4318 8888 9443 13133
ENTRYPOINT ["python", "-m", "collector"]
CMD ["run", "--help"]
