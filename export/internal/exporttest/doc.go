// Package exporttest holds the test support the exporter packages share:
// profiles built from stacks written as text, and golden-file checks. It is
// for tests only; nothing outside export's *_test.go files imports it.
//
// It must not import package export: export's own tests may import it.
package exporttest
