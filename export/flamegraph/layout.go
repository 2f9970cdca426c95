package flamegraph

// Sizes of the picture, in pixels. Labels use a monospace font whose
// advance is close to 0.6 em everywhere, so the SVG and its script agree on
// how many characters fit without measuring text.
const (
	frameHeight = 16
	rectHeight  = 15
	fontSize    = 12
	charWidth   = 7.3
	padX        = 10
	headHeight  = 66 // title, subtitle, legend and search box
	lineHeight  = 14 // a line of the head's small text
	footHeight  = 30 // details line
	labelMin    = 3  // fewer characters than this show no label
	// labelBaseline puts a label's baseline this far below its box's top.
	labelBaseline = 11.5
)

// geometry places frames: x from the value offset, y from the depth.
type geometry struct {
	width, height float64
	graphWidth    float64
	// head is the height of the head: headHeight, and a line more for
	// a diff's line that says what is compared.
	head     int
	inverted bool
	maxDepth int
	perValue float64 // pixels per unit of value
}

func newGeometry(opts Options, sidesLine bool) *geometry {
	w := float64(opts.width())
	g := &geometry{width: w, graphWidth: w - 2*padX, head: headHeight, inverted: opts.Inverted}
	if sidesLine {
		g.head += lineHeight
	}
	return g
}

// below returns y moved down by the lines the head has beyond the
// subtitle's, for the parts of the head under the subtitle.
func (g *geometry) below(y int) int { return y + g.head - headHeight }

// scale fixes the pixels per unit for a root of the given total; an empty
// profile still gets a root box.
func (g *geometry) scale(total int64) float64 {
	if total > 0 {
		g.perValue = g.graphWidth / float64(total)
	}
	return g.perValue
}

func (g *geometry) setDepth(d int) {
	g.maxDepth = d
	g.height = float64(g.head+(d+1)*frameHeight) + footHeight
}

func (g *geometry) x(start int64) float64 { return padX + float64(start)*g.perValue }

func (g *geometry) w(total int64) float64 {
	if g.perValue == 0 {
		return g.graphWidth
	}
	return float64(total) * g.perValue
}

func (g *geometry) y(depth int) int {
	if g.inverted {
		return g.head + depth*frameHeight
	}
	return g.head + (g.maxDepth-depth)*frameHeight
}

// box is a frame that is drawn, in depth-first order: a frame's subtree is
// the run of boxes that follows it up to the next box outside it.
type box struct {
	fr     *frame
	parent int // index of the parent box, -1 for the root
	depth  int
	start  int64 // offset from the root's left edge, in value units
}

// layout lists the frames at least minWidth pixels wide, with the depth of
// the deepest. A frame too narrow hides its whole subtree, which is no
// wider.
func layout(root *frame, perValue, minWidth float64) ([]box, int) {
	boxes := []box{{fr: root, parent: -1}}
	maxDepth := 0
	var place func(i int)
	place = func(i int) {
		b := boxes[i]
		maxDepth = max(maxDepth, b.depth)
		start := b.start
		for _, c := range b.fr.children {
			if c.cur.total > 0 && float64(c.cur.total)*perValue >= minWidth {
				boxes = append(boxes, box{fr: c, parent: i, depth: b.depth + 1, start: start})
				place(len(boxes) - 1)
			}
			start += c.cur.total
		}
	}
	place(0)
	return boxes, maxDepth
}
