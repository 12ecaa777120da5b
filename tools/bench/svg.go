package bench

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// Chart geometry, in SVG user units (pixels).
const (
	chartWidth = 920
	plotLeft   = 190 // workload names go left of this
	plotRight  = 820 // value labels go right of this
	barHeight  = 12
	barGap     = 2
	groupGap   = 14
	plotTop    = 92
)

// monitorColors are the host monitors' bars: greys, they sandbox nothing.
var monitorColors = map[string]string{"unotify": "#7f7f7f", "ptrace": "#b8b8b8"}

// palette gives each platform a hue: runsc-lite's bar is dark, gVisor's
// light, so a runsc-lite bar and its gVisor peer read as a pair.
var palette = [][2]string{
	{"#1f77b4", "#9ecae1"}, {"#e6550d", "#fdae6b"}, {"#31a354", "#a1d99b"}, {"#756bb1", "#bcbddc"},
}

// scale maps a ratio to an x coordinate, linearly or logarithmically.
type scale struct {
	log    bool
	lo, hi float64 // the domain
}

// newScale fits ratios (and 1, native's own ratio): logarithmic when they
// span more than a factor of 20, as sandbox overheads of 1.1x and 300x must
// both stay readable.
func newScale(ratios []float64) scale {
	lo, hi := 1.0, 1.0
	for _, r := range ratios {
		lo, hi = math.Min(lo, r), math.Max(hi, r)
	}
	if hi/lo > 20 {
		return scale{log: true, lo: math.Pow(10, math.Floor(math.Log10(lo))), hi: math.Pow(10, math.Ceil(math.Log10(hi)))}
	}
	return scale{lo: 0, hi: niceCeil(hi)}
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func (s scale) x(v float64) float64 {
	f := (v - s.lo) / (s.hi - s.lo)
	if s.log {
		f = math.Log10(v/s.lo) / math.Log10(s.hi/s.lo)
	}
	f = math.Max(0, math.Min(1, f))
	return plotLeft + f*(plotRight-plotLeft)
}

// ticks returns the axis's tick values: decades (with 2 and 5 when there
// are few) on a log scale, five steps on a linear one.
func (s scale) ticks() []float64 {
	var out []float64
	if !s.log {
		for i := 0; i <= 5; i++ {
			out = append(out, s.hi*float64(i)/5)
		}
		return out
	}
	few := math.Log10(s.hi/s.lo) <= 2
	for d := s.lo; d <= s.hi*1.0001; d *= 10 {
		out = append(out, d)
		if few && d*10 <= s.hi*1.0001 {
			out = append(out, 2*d, 5*d)
		}
	}
	return out
}

// WriteSVG writes a horizontal bar chart of each workload's ratio to
// native under every sandbox runner, one group of bars per workload.
func WriteSVG(w io.Writer, res *Result) error {
	native, hasNative := res.Native()
	var bars []Runner
	for _, r := range res.Runners {
		if !r.IsNative() {
			bars = append(bars, r)
		}
	}
	var ratios []float64
	for _, wl := range res.Workloads {
		for _, r := range bars {
			if x, ok := res.Ratio(wl.Name, r, native); ok && hasNative {
				ratios = append(ratios, x)
			}
		}
	}
	sc := newScale(ratios)
	groupHeight := len(bars)*(barHeight+barGap) + groupGap
	height := plotTop + len(res.Workloads)*groupHeight + 40

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartWidth, height, chartWidth, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	title := "Time relative to native (lower is better)"
	if sc.log {
		title += ", log scale"
	}
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="16" font-weight="bold">%s</text>`+"\n", 10, esc(title))
	fmt.Fprintf(&b, `<text x="%d" y="40" fill="#555">micro: time per operation inside the program; macro: wall time of the whole command. %d rep(s), medians; error bars: interquartile range (min-max under 4 reps).</text>`+"\n", 10, res.Reps)
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#555" font-size="10">%s</text>`+"\n", 10, height-8, esc(res.Machine.header()[0]))
	writeLegend(&b, res, bars)
	writeAxis(&b, sc, height-30)
	for i, wl := range res.Workloads {
		y := plotTop + i*groupHeight
		writeGroup(&b, res, sc, wl, bars, native, hasNative, y)
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// color returns r's bar color.
func color(res *Result, r Runner) string {
	i := 0
	for _, o := range res.Runners {
		if o.Platform != "" && !o.GVisor {
			if o.Platform == r.Platform {
				break
			}
			i++
		}
	}
	if r.Monitor != "" {
		return monitorColors[r.Monitor]
	}
	pair := palette[i%len(palette)]
	if r.GVisor {
		return pair[1]
	}
	return pair[0]
}

func writeLegend(b *strings.Builder, res *Result, bars []Runner) {
	x := 10
	for _, r := range bars {
		label := "runsc-lite " + r.Platform
		switch {
		case r.GVisor:
			label = "gVisor runsc " + r.Platform
		case r.Monitor != "":
			label = "host, " + r.Monitor + " monitor"
		}
		if r.Unavailable != "" {
			label += " (" + r.Unavailable + ")"
		}
		fmt.Fprintf(b, `<rect x="%d" y="52" width="14" height="12" fill="%s"/>`, x, color(res, r))
		fmt.Fprintf(b, `<text x="%d" y="62">%s</text>`+"\n", x+18, esc(label))
		x += 30 + 7*len(label)
	}
}

func writeAxis(b *strings.Builder, sc scale, bottom int) {
	for _, t := range sc.ticks() {
		x := sc.x(t)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`, x, plotTop-6, x, bottom)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%s</text>`+"\n", x, plotTop-10, esc(FormatRatio(t)))
	}
	x1 := sc.x(1)
	fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#000" stroke-dasharray="4,3"/>`, x1, plotTop-6, x1, bottom)
	fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle">native = 1x</text>`+"\n", x1, bottom+14)
}

func writeGroup(b *strings.Builder, res *Result, sc scale, wl Workload, bars []Runner, native Runner, hasNative bool, y int) {
	mid := y + len(bars)*(barHeight+barGap)/2
	kind := "per op"
	if wl.Kind == Macro {
		kind = "wall"
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end" font-weight="bold">%s</text>`, plotLeft-8, mid, esc(wl.Name))
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end" fill="#777" font-size="10">%s</text>`+"\n", plotLeft-8, mid+12, kind)
	for j, r := range bars {
		by := y + j*(barHeight+barGap)
		x, ok := res.Ratio(wl.Name, r, native)
		if !ok || !hasNative {
			fmt.Fprintf(b, `<text x="%d" y="%d" fill="#999" font-style="italic" font-size="10">%s: %s</text>`+"\n",
				plotLeft+4, by+barHeight-2, esc(r.Name), esc(missing(res.Cell(wl.Name, r))))
			continue
		}
		x0, x1 := sc.x(sc.lo), sc.x(x)
		fmt.Fprintf(b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s on %s: %s</title></rect>`,
			x0, by, math.Max(1, x1-x0), barHeight, color(res, r), esc(wl.Name), esc(r.Name), esc(FormatRatio(x)))
		lo, hi := res.ratioRange(wl.Name, r, native)
		xl, xh := sc.x(lo), sc.x(hi)
		ym := float64(by) + barHeight/2
		fmt.Fprintf(b, `<path d="M%.1f %.1fH%.1fM%.1f %.1fV%.1fM%.1f %.1fV%.1f" stroke="#000" stroke-width="1"/>`,
			xl, ym, xh, xl, ym-3, ym+3, xh, ym-3, ym+3)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" font-size="10">%s</text>`+"\n", math.Max(x1, xh)+4, by+barHeight-2, esc(FormatRatio(x)))
	}
}

// ratioRange is the error bar of r's ratio to base on workload: the
// interquartile range of r's samples (min to max under 4 samples) over
// base's median.
func (res *Result) ratioRange(workload string, r, base Runner) (lo, hi float64) {
	a, b := res.Cell(workload, r), res.Cell(workload, base)
	lo, hi = a.Min, a.Max
	if a.N >= 4 {
		lo, hi = a.Q1, a.Q3
	}
	return lo / b.Median, hi / b.Median
}

// missing says why a cell has no bar.
func missing(c Cell) string {
	switch {
	case c.Unavailable != "":
		return c.Unavailable
	case !c.OK() && c.Err != "":
		return "failed: " + truncate(c.Err, 60)
	}
	return "no native measurement"
}

func esc(s string) string { return html.EscapeString(s) }
