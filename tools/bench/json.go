package bench

import (
	"encoding/json"
	"io"
	"time"
)

// report is the JSON form of a Result: what was run, then every sample.
type report struct {
	Date      string         `json:"date"`
	Quick     bool           `json:"quick"`
	Reps      int            `json:"reps"`
	Machine   Machine        `json:"machine"`
	Runners   []reportRunner `json:"runners"`
	Workloads []reportWork   `json:"workloads"`
	Samples   []Sample       `json:"samples"`
}

type reportRunner struct {
	Name        string `json:"name"`
	Platform    string `json:"platform,omitempty"`
	GVisor      bool   `json:"gvisor,omitempty"`
	Unavailable string `json:"unavailable,omitempty"`
}

type reportWork struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	Unit string `json:"unit"`
	Desc string `json:"desc"`
}

// WriteJSON writes res, every sample included, as indented JSON.
func WriteJSON(w io.Writer, res *Result) error {
	rep := report{Date: time.Now().UTC().Format(time.RFC3339), Quick: res.Quick, Reps: res.Reps, Machine: res.Machine, Samples: res.Samples}
	if rep.Samples == nil {
		rep.Samples = []Sample{}
	}
	for _, r := range res.Runners {
		rep.Runners = append(rep.Runners, reportRunner{r.Name, r.Platform, r.GVisor, r.Unavailable})
	}
	for _, wl := range res.Workloads {
		kind := "micro"
		if wl.Kind == Macro {
			kind = "macro"
		}
		rep.Workloads = append(rep.Workloads, reportWork{wl.Name, kind, wl.Kind.Unit(), wl.Desc})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}
