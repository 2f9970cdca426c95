// Package timeline writes a profile's timeline of long calls as a Chrome
// trace-event file, which chrome://tracing, Perfetto and speedscope open.
package timeline
