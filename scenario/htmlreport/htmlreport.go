// Package htmlreport writes a scenario run's report as one self-contained
// HTML page: a summary, the expectations, and charts drawn in the browser
// from the report's data, embedded in the page. The page loads nothing
// from the network, so it opens from a CI artifact on a machine offline.
package htmlreport

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"strconv"

	"github.com/fleetsim/fleetsim/scenario/report"
)

var (
	//go:embed page.html
	pageHTML string
	//go:embed report.css
	reportCSS string
	//go:embed report.js
	reportJS string

	page = template.Must(template.New("page").Funcs(template.FuncMap{
		"thousands": thousands,
	}).Parse(pageHTML))
)

// pageData is what the page template reads.
type pageData struct {
	R                       *report.Report
	Title                   string
	Passed, Failed, Skipped int
	CSS                     template.CSS
	JS                      template.JS
	Data                    template.JS // the report as JSON, with <, > and & escaped
}

// Write writes r as an HTML page. The page depends on r alone.
func Write(w io.Writer, r *report.Report) error {
	data, err := json.Marshal(r) // escapes <, > and &: safe inside <script>
	if err != nil {
		return fmt.Errorf("htmlreport: encoding report: %w", err)
	}
	title := r.Scenario
	if title == "" {
		title = r.File
	}
	d := pageData{R: r, Title: title, CSS: template.CSS(reportCSS), JS: template.JS(reportJS), Data: template.JS(data)}
	d.Passed, d.Failed, d.Skipped = r.Counts()
	var buf bytes.Buffer
	if err := page.Execute(&buf, d); err != nil {
		return fmt.Errorf("htmlreport: %w", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// thousands writes n with comma separators: 1,000,000.
func thousands(n any) string {
	var s string
	switch v := n.(type) {
	case int:
		s = strconv.Itoa(v)
	case int64:
		s = strconv.FormatInt(v, 10)
	default:
		return fmt.Sprint(n)
	}
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
