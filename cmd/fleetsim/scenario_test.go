package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunHTML runs a shipped scenario with --html beside --json and
// --junit: the page is written, holds the report, and the other reports
// are unchanged by it.
func TestRunHTML(t *testing.T) {
	dir := t.TempDir()
	page, js, junit := filepath.Join(dir, "r.html"), filepath.Join(dir, "r.json"), filepath.Join(dir, "r.xml")
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"run", "--quiet", "--wall=false", "--html", page, "--json", js, "--junit", junit, "../../scenarios/data-limit.yaml"},
		func(string) string { return "" }, &stdout, &stderr)
	require.Equal(t, 0, code, "%s%s", stdout.String(), stderr.String())
	b, err := os.ReadFile(page)
	require.NoError(t, err)
	html := string(b)
	assert.True(t, strings.HasPrefix(html, "<!doctype html>"))
	assert.Contains(t, html, `<script type="application/json" id="report-data">{"scenario":"data-limit"`)
	assert.Contains(t, html, `"series":{"step":"1m"`)
	j, err := os.ReadFile(js)
	require.NoError(t, err)
	assert.Contains(t, string(j), `"series": {`)
	_, err = os.Stat(junit)
	require.NoError(t, err)
}
