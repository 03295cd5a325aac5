# Production build environment: the image Lambda's provided.al2023 runtime is made from, so binaries link against
# exactly the libraries Lambda has. One template for every PHP version, arch and extension set; the docker executor
# (builder/executors/docker.ts) passes everything version-specific in as build arguments and context files.
# Works with BuildKit and with the classic builder.

# Set by the executor from versions.yaml buildImages.al2023.images.<arch> (pinned by digest).
ARG BASE_IMAGE=public.ecr.aws/lambda/provided:al2023

FROM ${BASE_IMAGE} AS toolchain
# The plan's dnf packages for this build (space-separated).
ARG PACKAGES
# Amazon Linux release the repositories are read at (versions.yaml buildImages.al2023.releasever): the same commit
# installs the same package versions for ever.
ARG RELEASEVER
# The image's dnf is microdnf; weak dependencies stay out (smaller image, fewer accidental libraries).
RUN dnf install -y --releasever=${RELEASEVER} --setopt=install_weak_deps=0 ${PACKAGES} \
 && dnf clean all \
 && rm -rf /var/cache/dnf /var/cache/yum

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
