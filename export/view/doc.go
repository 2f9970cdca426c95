// Package view rewrites a profile into the shape people read: the
// interpreter's import machinery folded into one frame per import, frames
// hidden by name, or only the paths through chosen frames kept. Every view
// returns a new call tree and leaves the function table's existing entries
// as they were, so a timeline's references stay valid.
package view
