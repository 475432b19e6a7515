package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

const providersXML = "/usr/share/mobile-broadband-provider-info/serviceproviders.xml"

func defaultCatalog(t *testing.T) *Catalog {
	t.Helper()
	c, err := DefaultCatalog()
	require.NoError(t, err)
	require.NotNil(t, c)
	return c
}

// wantSid is the generator's sid rule: HW + hex of the first 16 bytes of
// sha256("fleetsim/network/" + mcc + "-" + mnc) of the lowest identifier.
func wantSid(lowest PLMN) string {
	sum := sha256.Sum256([]byte("fleetsim/network/" + lowest.MCC + "-" + lowest.MNC))
	return "HW" + hex.EncodeToString(sum[:16])
}

func TestDefaultCatalogLoads(t *testing.T) {
	c := defaultCatalog(t)
	require.Greater(t, len(c.Networks()), 300)

	again, err := DefaultCatalog()
	require.NoError(t, err)
	require.Same(t, c, again, "the embedded catalog is parsed once")
}

func TestDefaultCatalogConcurrentUse(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			c, err := DefaultCatalog()
			if err != nil {
				t.Error(err)
				return
			}
			c.InCountry("gb")
			c.Filter("DE", "262", "02")
			c.ByPLMN(PLMN{MCC: "234", MNC: "15"})
		})
	}
	wg.Wait()
}

func TestDefaultCatalogVodafoneGB(t *testing.T) {
	c := defaultCatalog(t)
	n, ok := c.ByPLMN(PLMN{MCC: "234", MNC: "15"})
	require.True(t, ok)
	require.Equal(t, "Vodafone", n.FriendlyName)
	require.Equal(t, "GB", n.IsoCountry)

	byID, ok := c.Network(n.Sid)
	require.True(t, ok)
	require.Equal(t, n, byID)

	// MVNOs sharing the host's PLMNs do not take them.
	for p, host := range map[PLMN]string{
		{MCC: "234", MNC: "10"}:  "O2",
		{MCC: "234", MNC: "20"}:  "3",
		{MCC: "234", MNC: "30"}:  "EE",
		{MCC: "262", MNC: "02"}:  "Vodafone",
		{MCC: "262", MNC: "07"}:  "O2",
		{MCC: "208", MNC: "10"}:  "SFR",
		{MCC: "310", MNC: "410"}: "AT&T",
	} {
		n, ok := c.ByPLMN(p)
		require.True(t, ok, p)
		require.Equal(t, host, n.FriendlyName, p)
	}
}

// TestDefaultCatalogSeedNetworks: the networks the Super SIM documentation
// states are in the catalog as it states them, whatever the Debian data
// lacks: Vodafone UK is one Network with MNCs 15, 27 and 91.
func TestDefaultCatalogSeedNetworks(t *testing.T) {
	c := defaultCatalog(t)
	vf, ok := c.ByPLMN(PLMN{MCC: "234", MNC: "15"})
	require.True(t, ok)
	require.Equal(t, []PLMN{{"234", "15"}, {"234", "27"}, {"234", "91"}}, vf.Identifiers)
	for _, mnc := range []string{"27", "91"} {
		n, ok := c.ByPLMN(PLMN{MCC: "234", MNC: mnc})
		require.True(t, ok, mnc)
		require.Equal(t, vf.Sid, n.Sid, "234 %s is Vodafone UK's", mnc)
	}
	sprint, ok := c.ByPLMN(PLMN{MCC: "312", MNC: "530"})
	require.True(t, ok)
	require.Equal(t, "Sprint", sprint.FriendlyName)
	require.Equal(t, "US", sprint.IsoCountry)
}

func TestDefaultCatalogInvariants(t *testing.T) {
	c := defaultCatalog(t)
	seenSid := map[string]bool{}
	seenPLMN := map[PLMN]string{}
	nets := c.Networks()
	for i, n := range nets {
		require.Regexp(t, `^HW[0-9a-f]{32}$`, n.Sid)
		require.False(t, seenSid[n.Sid], "duplicate sid %s", n.Sid)
		seenSid[n.Sid] = true

		require.NotEmpty(t, n.FriendlyName, n.Sid)
		require.Regexp(t, `^[A-Z]{2}$`, n.IsoCountry, n.Sid)
		require.NotEmpty(t, n.Identifiers, n.Sid)
		require.True(t, slices.IsSortedFunc(n.Identifiers, comparePLMNForTest), "identifiers of %s sorted", n.Sid)
		require.Equal(t, wantSid(n.Identifiers[0]), n.Sid, "sid of %q", n.FriendlyName)

		for _, p := range n.Identifiers {
			require.Regexp(t, `^[0-9]{3}$`, p.MCC)
			require.Regexp(t, `^[0-9]{2,3}$`, p.MNC)
			prev, dup := seenPLMN[p]
			require.False(t, dup, "PLMN %s in %s and %s", p, prev, n.Sid)
			seenPLMN[p] = n.Sid
			got, ok := c.ByPLMN(p)
			require.True(t, ok)
			require.Equal(t, n.Sid, got.Sid)
		}

		if i > 0 {
			a, b := nets[i-1], n
			require.True(t, a.IsoCountry < b.IsoCountry ||
				a.IsoCountry == b.IsoCountry && (a.FriendlyName < b.FriendlyName ||
					a.FriendlyName == b.FriendlyName && a.Sid < b.Sid),
				"catalog order at %d: %q/%q then %q/%q", i, a.IsoCountry, a.FriendlyName, b.IsoCountry, b.FriendlyName)
		}
	}
}

func comparePLMNForTest(a, b PLMN) int {
	if c := strings.Compare(a.MCC, b.MCC); c != 0 {
		return c
	}
	return strings.Compare(a.MNC, b.MNC)
}

func TestDefaultCatalogLookups(t *testing.T) {
	c := defaultCatalog(t)

	_, ok := c.Network("HW00000000000000000000000000000000")
	require.False(t, ok)
	_, ok = c.ByPLMN(PLMN{MCC: "234", MNC: "1"})
	require.False(t, ok)

	gb := c.InCountry("gb")
	require.Equal(t, gb, c.InCountry("GB"))
	require.Equal(t, gb, c.Filter("Gb", "", ""))
	var names []string
	for _, n := range gb {
		require.Equal(t, "GB", n.IsoCountry)
		names = append(names, n.FriendlyName)
	}
	require.Subset(t, names, []string{"3", "EE", "O2", "Vodafone"})
	require.NotContains(t, names, "giffgaff")

	require.NotNil(t, c.InCountry("XX"))
	require.Empty(t, c.InCountry("XX"))
	require.Equal(t, c.Networks(), c.Filter("", "", ""))

	vf := c.Filter("", "234", "15")
	require.Len(t, vf, 1)
	require.Equal(t, "Vodafone", vf[0].FriendlyName)
	require.Equal(t, vf, c.Filter("gb", "234", "15"))
	require.Empty(t, c.Filter("DE", "234", "15"))
	require.Empty(t, c.Filter("", "234", "1"), `MNC "1" is not "01"/"15"`)
	require.NotNil(t, c.Filter("", "234", "1"))

	for _, n := range c.Filter("", "262", "") {
		require.Equal(t, "DE", n.IsoCountry)
	}
}

func TestCatalogFilter(t *testing.T) {
	mk := func(name, iso string, ids ...PLMN) Network {
		return Network{Sid: wantSid(ids[0]), FriendlyName: name, IsoCountry: iso, Identifiers: ids}
	}
	a := mk("Alpha", "GB", PLMN{"234", "01"}, PLMN{"234", "20"})
	b := mk("Bravo", "GB", PLMN{"234", "1"})
	d := mk("Delta", "DE", PLMN{"262", "01"}, PLMN{"234", "02"})
	e := mk("Echo", "us", PLMN{"310", "010"})
	c, err := NewCatalog([]Network{a, b, d, e})
	require.NoError(t, err)

	for _, tc := range []struct {
		iso, mcc, mnc string
		want          []Network
	}{
		{"", "", "", []Network{a, b, d, e}},
		{"gb", "", "", []Network{a, b}},
		{"US", "", "", []Network{e}},
		{"", "234", "", []Network{a, b, d}},
		{"", "", "01", []Network{a, d}},
		{"", "234", "01", []Network{a}},
		{"", "234", "1", []Network{b}},
		{"", "", "1", []Network{b}},
		{"", "310", "10", []Network{}},
		{"", "310", "010", []Network{e}},
		// mcc and mnc must match the same identifier: Delta has 262/01
		// and 234/02 but neither 262/02 nor 234/01.
		{"", "262", "02", []Network{}},
		{"", "234", "02", []Network{d}},
		{"de", "234", "", []Network{d}},
		{"GB", "262", "", []Network{}},
		{"FR", "", "", []Network{}},
	} {
		got := c.Filter(tc.iso, tc.mcc, tc.mnc)
		require.NotNil(t, got)
		require.Equal(t, tc.want, got, "Filter(%q, %q, %q)", tc.iso, tc.mcc, tc.mnc)
	}

	got, ok := c.ByPLMN(PLMN{"234", "1"})
	require.True(t, ok)
	require.Equal(t, b, got)
	got, ok = c.ByPLMN(PLMN{"234", "01"})
	require.True(t, ok)
	require.Equal(t, a, got)
	require.Equal(t, []Network{e}, c.InCountry("US"))
}

func TestNewCatalogValidation(t *testing.T) {
	sidA, sidB := wantSid(PLMN{"001", "01"}), wantSid(PLMN{"001", "02"})
	ok := Network{Sid: sidA, FriendlyName: "A", IsoCountry: "GB", Identifiers: []PLMN{{"001", "01"}}}

	empty, err := NewCatalog(nil)
	require.NoError(t, err)
	require.Empty(t, empty.Networks())

	for name, nets := range map[string][]Network{
		"bad sid prefix":  {{Sid: "NW" + sidA[2:]}},
		"upper-case hex":  {{Sid: strings.ToUpper(sidA)}},
		"short sid":       {{Sid: sidA[:33]}},
		"duplicate sid":   {ok, {Sid: sidA, Identifiers: []PLMN{{"001", "02"}}}},
		"shared PLMN":     {ok, {Sid: sidB, Identifiers: []PLMN{{"001", "01"}}}},
		"PLMN listed 2x":  {{Sid: sidB, Identifiers: []PLMN{{"001", "02"}, {"001", "02"}}}},
		"empty sid":       {{FriendlyName: "x"}},
		"sid with suffix": {{Sid: sidA + "0"}},
	} {
		_, err := NewCatalog(nets)
		require.Error(t, err, name)
	}

	// The catalog copies its input.
	in := []Network{ok}
	c, err := NewCatalog(in)
	require.NoError(t, err)
	in[0].FriendlyName = "changed"
	in[0].Identifiers[0] = PLMN{"999", "99"}
	n, found := c.Network(sidA)
	require.True(t, found)
	require.Equal(t, "A", n.FriendlyName)
	require.Equal(t, []PLMN{{"001", "01"}}, n.Identifiers)
	_, found = c.ByPLMN(PLMN{"999", "99"})
	require.False(t, found)
}

// TestCatalogGeneratorReproducible re-runs the generator and checks that the
// committed networks.json is exactly what it produces.
func TestCatalogGeneratorReproducible(t *testing.T) {
	if _, err := os.Stat(providersXML); err != nil {
		msg := providersXML + " not found (install Debian package mobile-broadband-provider-info): " + err.Error()
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	goTool, err := exec.LookPath("go")
	require.NoError(t, err, "go tool needed to run the generator")

	out := filepath.Join(t.TempDir(), "networks.json")
	cmd := exec.Command(goTool, "run", "./internal/gennetworks", "-in", providersXML, "-out", out)
	output, err := cmd.CombinedOutput()
	require.NoError(t, err, "generator: %s", output)

	got, err := os.ReadFile(out)
	require.NoError(t, err)
	committed, err := os.ReadFile("networks.json")
	require.NoError(t, err)
	require.True(t, string(committed) == string(got),
		"networks.json is stale: run `go generate` in sim/ (generator output differs from the committed file)")
	require.Equal(t, committed, networksJSON, "embedded copy matches the file")
}
