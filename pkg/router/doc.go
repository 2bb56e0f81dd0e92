// Package router applies the facts on CAREHUB_EVENTS to PostgreSQL state and
// turns them into notifications. It reads with a durable JetStream consumer,
// applies a batch in one transaction (idempotently, keyed by event id), and
// acknowledges only after the commit; the outbox relay in pkg/notify then
// publishes what the batch committed.
package router
