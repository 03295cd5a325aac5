# Offline build environment: a Debian root made on this machine (scripts/docker-base-image.sh), for machines that
# cannot reach a registry. One template for every PHP version, arch and extension set; the docker executor
# (builder/executors/docker.ts) passes everything version-specific in as build arguments and context files.
# Its glibc (2.36) is newer than the base's (2.34): the plan's compile script carries the symbol pins for that, and
# the ABI gate checks the result. Works with BuildKit and with the classic builder.

# Set by the executor from versions.yaml buildImages.debian.images.<arch>.
ARG BASE_IMAGE=php-layer-factory/debian:bookworm

FROM ${BASE_IMAGE} AS toolchain
# The plan's apt packages for this build (space-separated).
ARG PACKAGES
# One RUN and no caches left behind: the vfs storage driver copies every byte of every layer.
RUN apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${PACKAGES} >/dev/null \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb

FROM toolchain AS compile
# Changing it (npm run build -- --no-cache, npm run verify) recompiles from scratch without re-making the toolchain.
ARG FRESH=0
# The plan's compile steps in order (builder/plan/compile-script.ts COMPILE_STEPS).
ARG STEPS="extract configure make install"
COPY compile.sh run-steps.sh php.tar /src/
RUN FRESH=${FRESH} bash /src/run-steps.sh ${STEPS}

# What BuildKit exports with --output type=local: the staging tree and the step logs, nothing else.
FROM scratch AS out
COPY --from=compile /stage/ /stage/
COPY --from=compile /logs/ /logs/
