-- Prosody for docker/compose.yaml: one virtual host for the librarians and the external
-- component the textgate container connects to. For a real deployment see
-- docs/operations.md (TLS certificates, a real domain, encryption required).

pidfile = "/run/prosody/prosody.pid"
data_path = "/var/lib/prosody"
log = { info = "*console" }

-- Inside the compose network: clients from the host through the published port 5222,
-- textgate through the internal network on 5347 (not published).
interfaces = { "*" }
c2s_ports = { 5222 }
s2s_ports = { }
component_ports = { 5347 }
component_interfaces = { "*" }

modules_enabled = { "roster"; "saslauth"; "disco"; "ping"; "presence"; "version"; "uptime" }
modules_disabled = { "s2s" }

-- Compose publishes 5222 on the host's loopback only; without certificates in this
-- example, plain-text login is allowed. Never do this on a network.
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"

VirtualHost "library.test"

Component "sms.library.test"
    -- The same secret as gateway.secret in docker/textgate.toml (both read from the
    -- environment in compose.yaml would be nicer; Prosody's config is Lua, so it can).
    component_secret = os.getenv("TEXTGATE_COMPONENT_SECRET") or "change-me-component-secret"
