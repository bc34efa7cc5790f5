package sim

import (
	"fmt"
	"html"
	"io"
	"strings"
)

// WriteSVG draws the day: calls offered per interval (bars), each
// topic's service level and its target (lines, right axis 0–100 %), and
// the operators at work (a step line, left axis with the calls).
func (r *Result) WriteSVG(w io.Writer) error {
	const (
		width, height   = 960, 420
		left, right     = 60, 180
		top, bottom     = 40, 50
		plotW, plotH    = width - left - right, height - top - bottom
		colourOffered   = "#c9d6e8"
		colourStaff     = "#444444"
		colourAbandoned = "#e8b4b4"
	)
	palette := []string{"#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"}
	n := r.n
	if n == 0 {
		return fmt.Errorf("%w: nothing to draw", ErrRun)
	}
	most := 1.0
	for i := range n {
		row := r.row(i, All)
		most = max(most, float64(row.Offered), row.Staffed)
	}
	most = niceCeil(most)
	x := func(i float64) float64 { return left + i*plotW/float64(n) }
	yLeft := func(v float64) float64 { return top + plotH - v/most*plotH }
	yPct := func(v float64) float64 { return top + plotH - v/100*plotH }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%d" y="20" font-size="14">%s — seed %d</text>`+"\n", left, html.EscapeString(r.Scenario), r.Seed)
	// Axes and grid.
	for k := 0; k <= 4; k++ {
		v := most * float64(k) / 4
		y := yLeft(v)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#eee"/>`+"\n", left, left+plotW, y, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%g</text>`+"\n", left-4, y+4, v)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f">%d%%</text>`+"\n", left+plotW+4, y+4, k*25)
	}
	fmt.Fprintf(&b, `<text x="12" y="%d" transform="rotate(-90 12 %d)">calls, operators</text>`+"\n", top+plotH/2, top+plotH/2)
	loc := r.Start.Location()
	step := max(1, n/12)
	for i := 0; i < n; i += step {
		row := r.row(i, All)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x(float64(i)+0.5), top+plotH+16, row.Start.In(loc).Format("15:04"))
	}
	// Offered (abandoned darker at the bottom).
	bw := float64(plotW) / float64(n) * 0.8
	for i := range n {
		row := r.row(i, All)
		x0 := x(float64(i)) + float64(plotW)/float64(n)*0.1
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n", x0, yLeft(float64(row.Offered)), bw, float64(row.Offered)/most*plotH, colourOffered)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n", x0, yLeft(float64(row.Abandoned)), bw, float64(row.Abandoned)/most*plotH, colourAbandoned)
	}
	// Operators at work.
	var pts []string
	for i := range n {
		row := r.row(i, All)
		pts = append(pts, fmt.Sprintf("%.1f,%.1f %.1f,%.1f", x(float64(i)), yLeft(row.Staffed), x(float64(i+1)), yLeft(row.Staffed)))
	}
	fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), colourStaff)
	// Service level per topic, and its target.
	legend := []string{fmt.Sprintf(`<rect x="0" y="-9" width="12" height="10" fill="%s"/><text x="16" y="0">offered</text>`, colourOffered),
		fmt.Sprintf(`<rect x="0" y="-9" width="12" height="10" fill="%s"/><text x="16" y="0">abandoned</text>`, colourAbandoned),
		fmt.Sprintf(`<line x1="0" x2="12" y1="-4" y2="-4" stroke="%s" stroke-width="2"/><text x="16" y="0">operators</text>`, colourStaff)}
	for k, t := range r.topics {
		if t == All {
			continue
		}
		c := palette[k%len(palette)]
		var line []string
		target := 0.0
		for i := range n {
			row := r.row(i, t)
			target = row.TargetPercent
			if row.SL != nil {
				line = append(line, fmt.Sprintf("%.1f,%.1f", x(float64(i)+0.5), yPct(*row.SL*100)))
			}
		}
		if len(line) > 0 {
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.5"/>`+"\n", strings.Join(line, " "), c)
		}
		if target > 0 {
			fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s" stroke-dasharray="4 3"/>`+"\n", left, left+plotW, yPct(target), yPct(target), c)
		}
		legend = append(legend, fmt.Sprintf(`<line x1="0" x2="12" y1="-4" y2="-4" stroke="%s" stroke-width="2"/><text x="16" y="0">SL %s (target %g%%, dashed)</text>`, c, html.EscapeString(t), target))
	}
	for k, l := range legend {
		fmt.Fprintf(&b, `<g transform="translate(%d %d)">%s</g>`+"\n", left+plotW+36, top+10+k*18, l)
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := 1.0
	for p*10 <= v {
		p *= 10
	}
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}
