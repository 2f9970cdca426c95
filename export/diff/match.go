package diff

import "path"

// match pairs the rows of the same function on both sides: first by name,
// file and def line; then, for the rows left over, by name and file when
// exactly one row of each side has them (an edit moved the function down
// its file); then by name alone when exactly one row of each side has it
// (the sides were recorded from checkouts in different directories, as a
// CI job that records the base branch beside the change does). Names that
// collide there (two lambdas of one file, __main__.main of two scripts)
// are told apart by the file's own name, without its directory, and the
// def line, then by the file's own name alone. The rest are functions
// only one side has.
func match(base, new []row) []Func {
	var out []Func
	base, new = pairBy(base, new, coarseKey(func(k funcKey) funcKey { return k }), &out)
	base, new = pairBy(base, new, coarseKey(func(k funcKey) funcKey { return funcKey{name: k.name, file: k.file} }), &out)
	base, new = pairBy(base, new, coarseKey(func(k funcKey) funcKey { return funcKey{name: k.name} }), &out)
	base, new = pairBy(base, new, coarseKey(func(k funcKey) funcKey { return funcKey{name: k.name, file: path.Base(k.file), line: k.line} }), &out)
	base, new = pairBy(base, new, coarseKey(func(k funcKey) funcKey { return funcKey{name: k.name, file: path.Base(k.file)} }), &out)
	for _, r := range new {
		out = append(out, Func{Func: r.fn, New: r.median, NewSpread: r.spread, newKey: keyOf(r.fn), inNew: true})
	}
	for _, r := range base {
		out = append(out, Func{Func: r.fn, Base: r.median, BaseSpread: r.spread, baseKey: keyOf(r.fn), inBase: true})
	}
	return out
}

// coarseKey makes a row's matching key from its function's key.
func coarseKey(coarsen func(funcKey) funcKey) func(row) funcKey {
	return func(r row) funcKey { return coarsen(keyOf(r.fn)) }
}

// pairBy appends to out the pairs of rows whose key is held by exactly
// one row of each side, and returns the rows left unpaired.
func pairBy(base, new []row, key func(row) funcKey, out *[]Func) (restBase, restNew []row) {
	count := map[funcKey][2]int{}
	for _, r := range base {
		c := count[key(r)]
		c[0]++
		count[key(r)] = c
	}
	for _, r := range new {
		c := count[key(r)]
		c[1]++
		count[key(r)] = c
	}
	baseOf := map[funcKey]row{}
	for _, r := range base {
		if count[key(r)] == [2]int{1, 1} {
			baseOf[key(r)] = r
			continue
		}
		restBase = append(restBase, r)
	}
	for _, r := range new {
		b, ok := baseOf[key(r)]
		if !ok {
			restNew = append(restNew, r)
			continue
		}
		*out = append(*out, Func{
			Func: r.fn, Base: b.median, New: r.median, BaseSpread: b.spread, NewSpread: r.spread,
			baseKey: keyOf(b.fn), newKey: keyOf(r.fn), inBase: true, inNew: true,
		})
	}
	return restBase, restNew
}
