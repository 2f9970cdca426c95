// Package clock reads the tick counter the agent timestamps records with
// and converts ticks to nanoseconds.
package clock
