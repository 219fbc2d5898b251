# CyberCoop national gateway in a container: self-contained publish, non-root, read-only root file system, the node
# folder (gateway.json, certificates, keys, database, admin socket) on a volume.
#
# Build (from the repository root):
#   docker build -f deploy/docker/gateway.Dockerfile -t cybercoop-gateway .
# Run (node.listen in gateway.json must be 0.0.0.0:<port>; the folder must be owned by uid 1654, the image's user):
#   docker run -d --name ee-gateway --read-only --cap-drop ALL --security-opt no-new-privileges \
#     --ulimit nofile=65536:65536 \
#     -v /srv/cybercoop/ee/node:/var/lib/cybercoop/gateway -p 7401:7401 cybercoop-gateway
# Operator commands run in the same container, as the same user:
#   docker exec ee-gateway cybercoop-gateway status --config /var/lib/cybercoop/gateway/gateway.json
#   docker exec ee-gateway cybercoop-gateway backup --config /var/lib/cybercoop/gateway/gateway.json --out /var/lib/cybercoop/gateway/backup.db
#
# Not built in CI: the CI machine has no container engine. CI checks the same `dotnet publish` (.ci/run).

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Gateway -c Release -r linux-x64 --self-contained -o /out

FROM mcr.microsoft.com/dotnet/runtime-deps:10.0
COPY --from=build /out /opt/cybercoop/gateway
ENV PATH="/opt/cybercoop/gateway:${PATH}" \
    DOTNET_EnableDiagnostics=0
WORKDIR /var/lib/cybercoop/gateway
VOLUME ["/var/lib/cybercoop/gateway"]
# The image's non-root user (uid 1654, "app"); nothing in the image is writable by it but the volume.
USER $APP_UID
EXPOSE 7401
ENTRYPOINT ["/opt/cybercoop/gateway/cybercoop-gateway"]
CMD ["serve", "--config", "/var/lib/cybercoop/gateway/gateway.json"]
