package speedscope

// Schema is the value of the "$schema" key that marks a speedscope file.
const Schema = "https://www.speedscope.app/file-format-schema.json"

// The JSON shapes of the file format. Field order follows the schema, so
// files diff well.
type file struct {
	Schema             string     `json:"$schema"`
	Shared             shared     `json:"shared"`
	Profiles           []*profile `json:"profiles"`
	Name               string     `json:"name,omitempty"`
	ActiveProfileIndex int        `json:"activeProfileIndex"`
	Exporter           string     `json:"exporter,omitempty"`
}

type shared struct {
	Frames []frame `json:"frames"`
}

type frame struct {
	Name string `json:"name"`
	File string `json:"file,omitempty"`
	Line int32  `json:"line,omitempty"`
}

type profile struct {
	Type       string    `json:"type"`
	Name       string    `json:"name"`
	Unit       string    `json:"unit"`
	StartValue float64   `json:"startValue"`
	EndValue   float64   `json:"endValue"`
	Samples    [][]int   `json:"samples,omitempty"`
	Weights    []float64 `json:"weights,omitempty"`
	Events     []event   `json:"events,omitempty"`
}

type event struct {
	Type  string  `json:"type"`
	Frame int     `json:"frame"`
	At    float64 `json:"at"`
}

const (
	typeSampled = "sampled"
	typeEvented = "evented"
	eventOpen   = "O"
	eventClose  = "C"
)

// unitScale is the number of nanoseconds in each time unit speedscope
// knows; "none" counts.
var unitScale = map[string]float64{
	"nanoseconds":  1,
	"microseconds": 1e3,
	"milliseconds": 1e6,
	"seconds":      1e9,
}
