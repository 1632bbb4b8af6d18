// Package config loads a service's configuration from layered sources,
// later ones winning: defaults in code ([Defaults]), files in YAML, JSON or
// TOML ([File]), environment variables with a prefix ([Env]), command-line
// flags ([Flags]), and backends in child packages (config/etcd). A [Source]
// is an interface, so more can be added.
//
// [New] merges the sources (with koanf) into an immutable [Snapshot] and,
// unless [WithoutWatch] is given, reloads when a source changes: a file
// saved in place, by atomic rename, or by a Kubernetes ConfigMap's ..data
// symlink swap. A reload whose result fails to parse, to decode into a bound
// type or to pass a validator is rejected: the last good configuration
// stays, and the error, naming the source, line and column, goes to the watch
// callbacks and the log.
//
// [Bind] decodes the configuration into a Go struct (by json tags) or a
// proto message (by protojson field names, so a config.proto is the schema),
// again on every reload; [Value.Get] is one atomic load, safe under
// concurrent reloads. A bound proto message's buf.validate rules are checked
// by the option of the child package config/protovalidate, which only
// programs that use it link.
//
// Values whose key looks secret (password, secret, token, key) are redacted
// wherever a [Snapshot] is printed or logged.
package config
