// Package store is carehub's PostgreSQL state: database creation, embedded
// SQL migrations, the router's idempotent writes (patients, encounters,
// processed events) and the notification outbox.
//
// Every write the router makes for one event — marking it processed, the
// state change and the notifications it causes — happens in one transaction,
// so a crash leaves either all of it or none.
package store
