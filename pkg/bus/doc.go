// Package bus is carehub's JetStream layer: the embedded nats-server, the
// connection, the three streams (events, notifications, quarantine) and
// idempotent publishing. Every publish waits for JetStream's acknowledgement,
// because the hub only acknowledges its own input once it is durable.
package bus
