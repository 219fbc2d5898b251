# CyberCoop sensor agent in a container: self-contained publish, non-root, read-only root file system, the agent
# folder (agent.json, certificate, key, root, spool, read offsets) on a volume, the sensor's logs mounted read-only.
#
# Build (from the repository root):
#   docker build -f deploy/docker/agent.Dockerfile -t cybercoop-agent .
# Run (paths in agent.json as seen inside the container; the agent folder owned by uid 1654, the sensor logs readable
# by it, e.g. --group-add the logs' group):
#   docker run -d --name grid-sensor --read-only --cap-drop ALL --security-opt no-new-privileges \
#     -v /srv/cybercoop/agents/grid-sensor:/var/lib/cybercoop/agent \
#     -v /var/log/suricata:/var/log/suricata:ro cybercoop-agent
#
# Not built in CI: the CI machine has no container engine. CI checks the same `dotnet publish` (.ci/run).

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Agent -c Release -r linux-x64 --self-contained -o /out

FROM mcr.microsoft.com/dotnet/runtime-deps:10.0
COPY --from=build /out /opt/cybercoop/agent
ENV PATH="/opt/cybercoop/agent:${PATH}" \
    DOTNET_EnableDiagnostics=0
WORKDIR /var/lib/cybercoop/agent
VOLUME ["/var/lib/cybercoop/agent"]
USER $APP_UID
ENTRYPOINT ["/opt/cybercoop/agent/cybercoop-agent"]
CMD ["run", "--config", "/var/lib/cybercoop/agent/agent.json"]
