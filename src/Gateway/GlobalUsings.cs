// The gateway's folders follow the flow of an indicator (Ingest, Pipeline, Policy, Storage, Outbound, Inbound) and the
// node's concerns (Identity, Trust, Security, Streaming, Hosting); their types are used across folders, so their
// namespaces are imported once here instead of in every file.
global using CyberCoop.Gateway.Hosting;
global using CyberCoop.Gateway.Identity;
global using CyberCoop.Gateway.Inbound;
global using CyberCoop.Gateway.Outbound;
global using CyberCoop.Gateway.Policy;
global using CyberCoop.Gateway.Security;
global using CyberCoop.Gateway.Storage;
global using CyberCoop.Gateway.Streaming;
global using CyberCoop.Gateway.Trust;
