// Package testsupport starts the real components tests run against: an
// embedded JetStream server in a temporary directory and a fresh PostgreSQL
// database per caller, dropped afterwards.
package testsupport
