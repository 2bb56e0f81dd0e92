// Package notify delivers notifications. The Relay moves committed outbox
// rows to CAREHUB_NOTIFY, where each receiving organisation consumes
// carehub.notify.<org-id>.> with its own durable consumer.
package notify
