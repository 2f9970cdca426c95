package profiler

// DefaultSlots is how many threads of one process record at once unless
// Options say otherwise: a thread pool of hundreds of threads is ordinary
// in a server, and a slot no thread takes costs a 128-byte control block
// and nothing else (its ring is mapped only once a thread takes it, and
// only as far as the thread writes). A thread past the slots waits up to
// 100 ms for one to be recycled, then records nothing (its events are
// counted lost).
const DefaultSlots = 4096
