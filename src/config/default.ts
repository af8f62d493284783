/**
 * The embedded default configuration (`sluice run` without -c and without
 * ./sluice.toml): tail /var/log/*.log from the end and serve on loopback.
 * When /var/log is not readable, an empty inbox folder under data_dir is
 * tailed instead, so the daemon still starts and shows its UI.
 */
export const DEFAULT_CONFIG_TOML = `
data_dir = "./data"

[server]
listen = "127.0.0.1:8080"

[[sources]]
name = "varlog"
type = "file"
paths = ["/var/log/*.log"]
from = "end"
`;
