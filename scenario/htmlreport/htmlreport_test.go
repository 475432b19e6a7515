package htmlreport

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fleetsim/fleetsim/scenario"
	"github.com/fleetsim/fleetsim/scenario/report"
	"github.com/fleetsim/fleetsim/scenario/spec"
	"github.com/fleetsim/fleetsim/sim"
)

var (
	reportOnce sync.Once
	testReport *report.Report
	reportErr  error
)

// runTestScenario runs testdata/report.yaml once for the package's tests.
func runTestScenario(t *testing.T) *report.Report {
	t.Helper()
	reportOnce.Do(func() {
		var cat *sim.Catalog
		if cat, reportErr = sim.DefaultCatalog(); reportErr != nil {
			return
		}
		var s *spec.Scenario
		if s, reportErr = spec.LoadValid("testdata/report.yaml", cat); reportErr != nil {
			return
		}
		testReport, reportErr = scenario.Run(context.Background(), s, scenario.Options{Catalog: cat})
	})
	require.NoError(t, reportErr)
	return testReport
}

func render(t *testing.T, r *report.Report) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, r))
	return buf.String()
}

// externalRE finds attributes and CSS that would make the browser fetch
// something: src, href, action, url(...), @import.
var externalRE = regexp.MustCompile(`(?i)(\b(src|href|action|srcset|poster)\s*=\s*["']?\s*[a-z]*:?//)|url\(\s*["']?\s*[a-z]*:?//|@import`)

// TestPageIsSelfContained checks the page parses, loads nothing from
// anywhere, and carries the report it was made from.
func TestPageIsSelfContained(t *testing.T) {
	rep := runTestScenario(t)
	page := render(t, rep)
	assert.Empty(t, externalRE.FindAllString(page, -1), "the page must load nothing from the network")
	assert.NotContains(t, page, "<link")
	assert.NotContains(t, page, "<script src")
	dom, err := parseDOM(page)
	require.NoError(t, err)
	scripts := dom.find("script")
	require.Len(t, scripts, 2)
	assert.Equal(t, "application/json", scripts[0].attrs["type"])
	assert.Equal(t, "report-data", scripts[0].attrs["id"])

	// The embedded data is the report.
	m := regexp.MustCompile(`(?s)<script type="application/json" id="report-data">(.*?)</script>`).FindStringSubmatch(page)
	require.NotNil(t, m)
	var got report.Report
	require.NoError(t, json.Unmarshal([]byte(m[1]), &got))
	want, err := json.Marshal(rep)
	require.NoError(t, err)
	again, err := json.Marshal(&got)
	require.NoError(t, err)
	assert.JSONEq(t, string(want), string(again))

	// The header and the table, drawn without script.
	summary := dom.find("header", "summary")
	require.Len(t, summary, 1)
	assert.True(t, summary[0].hasClass("fail"))
	assert.Equal(t, "7", dom.find("dd", "id=seed")[0].Text())
	assert.Equal(t, "70", dom.find("dd", "id=devices")[0].Text())
	assert.Equal(t, "5h", dom.find("dd", "id=duration")[0].Text())
	rows := dom.find("tr", "fail")
	require.Len(t, rows, 1)
	assert.Contains(t, rows[0].Text(), "roamers stay attached through the move")
	assert.Len(t, dom.find("tr", "pass"), 3)
}

// TestPageEscapes checks text from the scenario can't break out of the
// page: a name with markup stays text, in the table and in the data.
func TestPageEscapes(t *testing.T) {
	evil := `</script><script>alert(1)</script><img src=x onerror=alert(2)>`
	rep := &report.Report{Scenario: evil, Expectations: []report.Outcome{{Name: evil, Observed: "a & b < c"}}}
	page := render(t, rep)
	assert.NotContains(t, page, "<script>alert")
	assert.NotContains(t, page, "<img")
	assert.Equal(t, 2, strings.Count(page, "<script"), "only the page's own two scripts")
	dom, err := parseDOM(page)
	require.NoError(t, err)
	assert.Contains(t, dom.find("h1")[0].Text(), evil)
}

// TestPageSameReportSameBytes: the page depends on the report alone.
func TestPageSameReportSameBytes(t *testing.T) {
	rep := runTestScenario(t)
	assert.Equal(t, render(t, rep), render(t, rep))
}

func TestThousands(t *testing.T) {
	for in, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1000000: "1,000,000", -12345: "-12,345"} {
		assert.Equal(t, want, thousands(in))
	}
	assert.Equal(t, "3,068,807", thousands(int64(3068807)))
}
