// Command gennetworks builds sim/networks.json, the embedded Networks
// catalog, from Debian's mobile-broadband-provider-info database
// (serviceproviders.xml, public domain). Run it from the sim directory:
//
//	go run ./internal/gennetworks [-in serviceproviders.xml] [-out networks.json]
//
// or via "go generate" in sim. The output depends only on the input file
// (and the package version written into the "source" note), so it is
// byte-identical from run to run and machine to machine.
//
// Rules:
//
//   - Every <provider> inside a <country> is a candidate operator. Its
//     friendly_name is its first <name> without an xml:lang attribute (else
//     its first <name>), trimmed with inner whitespace collapsed; its
//     iso_country is the enclosing country's code upper-cased (so the
//     country a network is listed under wins, not the one its MCC suggests).
//     Providers with the same name in the same country are merged into one.
//   - Only <gsm><network-id mcc=".." mnc=".."/> entries count (CDMA SIDs are
//     ignored). MCC and MNC are kept exactly as written, so MNC "01" and MNC
//     "1" are different PLMNs. Malformed ids (MCC not exactly 3 digits, MNC
//     not 2 or 3 digits) are skipped with a warning on stderr.
//   - The XML often lists one PLMN under several providers: the host
//     operator plus MVNOs and brands riding on it (O2, giffgaff and Tesco
//     Mobile all list 234/10). Each PLMN is given to exactly one provider,
//     the first after ordering all providers that list it by:
//     1. the provider's primary attribute: "true" before absent before
//     "false" (the XML's own host/MVNO marker, set on a few entries);
//     2. more distinct valid network-ids listed by the provider (hosts list
//     all their PLMNs, MVNOs often only the main one);
//     3. more XML elements inside its <gsm> other than network-id (APNs and
//     their settings, voicemail, balance checks...): host entries tend
//     to be the best maintained;
//     4. friendly_name in byte order, then iso_country.
//     Providers left without any PLMN are dropped.
//   - The networks the Super SIM documentation states (seedNetworks) hold
//     afterwards whatever the XML says: each of their PLMNs is taken from
//     the network the XML gave it to, and the network is created if the
//     XML lacks it. The XML is community data; the documentation is the
//     specification the simulator follows.
//   - A network's sid is "HW" followed by the first 16 bytes, in lower-case
//     hex, of sha256("fleetsim/network/" + MCC + "-" + MNC) of its lowest
//     identifier. Identifiers are sorted by MCC then MNC (as strings) and
//     networks by iso_country, friendly_name, then sid.
//   - networks.json is {"source": ..., "networks": [...]} with one network
//     per line; HTML characters are not escaped.
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
)

const (
	defaultIn        = "/usr/share/mobile-broadband-provider-info/serviceproviders.xml"
	debianChangelog  = "/usr/share/doc/mobile-broadband-provider-info/changelog.Debian.gz"
	debianPackage    = "mobile-broadband-provider-info"
	sidDerivationTag = "fleetsim/network/"
)

// plmn and network mirror sim.PLMN and sim.Network (same JSON tags). They are
// redeclared so the generator builds even when networks.json, which package
// sim embeds, is missing or stale.
type plmn struct {
	MCC string `json:"mcc"`
	MNC string `json:"mnc"`
}

type network struct {
	Sid          string `json:"sid"`
	FriendlyName string `json:"friendly_name"`
	IsoCountry   string `json:"iso_country"`
	Identifiers  []plmn `json:"identifiers"`
}

// XML shape: only the parts the rules use.

type xmlRoot struct {
	Countries []xmlCountry `xml:"country"`
}

type xmlCountry struct {
	Code      string        `xml:"code,attr"`
	Providers []xmlProvider `xml:"provider"`
}

type xmlProvider struct {
	Primary string    `xml:"primary,attr"`
	Names   []xmlName `xml:"name"`
	GSM     *xmlGSM   `xml:"gsm"`
}

type xmlName struct {
	Lang  string `xml:"lang,attr"`
	Value string `xml:",chardata"`
}

// xmlGSM collects the direct <network-id> children and counts every other
// element below <gsm>.
type xmlGSM struct {
	IDs      []plmn
	Elements int
}

func (g *xmlGSM) UnmarshalXML(d *xml.Decoder, _ xml.StartElement) error {
	depth := 0
	for {
		tok, err := d.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 && t.Name.Local == "network-id" {
				var id plmn
				for _, a := range t.Attr {
					switch a.Name.Local {
					case "mcc":
						id.MCC = a.Value
					case "mnc":
						id.MNC = a.Value
					}
				}
				g.IDs = append(g.IDs, id)
			} else {
				g.Elements++
			}
			depth++
		case xml.EndElement:
			if depth == 0 {
				return nil
			}
			depth--
		}
	}
}

var (
	mccRe     = regexp.MustCompile(`^[0-9]{3}$`)
	mncRe     = regexp.MustCompile(`^[0-9]{2,3}$`)
	countryRe = regexp.MustCompile(`^[a-zA-Z]{2}$`)
	versionRe = regexp.MustCompile(`^` + regexp.QuoteMeta(debianPackage) + ` \(([^)]+)\)`)
)

// provider is a merged (country, name) candidate.
type provider struct {
	name     string
	country  string
	primary  int // 2 = primary="true", 1 = unset, 0 = primary="false"
	ids      map[plmn]bool
	elements int
	won      []plmn
}

func main() {
	in := flag.String("in", defaultIn, "serviceproviders.xml from mobile-broadband-provider-info")
	out := flag.String("out", "networks.json", "output file")
	version := flag.String("pkgversion", "", "package version for the source note (default: read from "+debianChangelog+")")
	flag.Parse()

	if err := run(*in, *out, *version); err != nil {
		fmt.Fprintln(os.Stderr, "gennetworks:", err)
		os.Exit(1)
	}
}

func run(in, out, version string) error {
	if version == "" {
		v, err := debianVersion(debianChangelog)
		if err != nil {
			return fmt.Errorf("cannot find the package version (pass -pkgversion): %w", err)
		}
		version = v
	}
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := generate(f, version, os.Stderr)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	return os.WriteFile(out, data, 0o644)
}

// debianVersion reads the version from the first line of a Debian changelog.
func debianVersion(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return "", err
	}
	line, err := bufio.NewReader(zr).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	m := versionRe.FindStringSubmatch(line)
	if m == nil {
		return "", fmt.Errorf("%s: unexpected first line %q", path, line)
	}
	return m[1], nil
}

// generate turns serviceproviders.xml into the networks.json bytes.
func generate(r io.Reader, version string, warn io.Writer) ([]byte, error) {
	var root xmlRoot
	if err := xml.NewDecoder(r).Decode(&root); err != nil {
		return nil, err
	}

	type key struct{ country, name string }
	merged := map[key]*provider{}
	var provs []*provider
	for _, c := range root.Countries {
		if !countryRe.MatchString(c.Code) {
			fmt.Fprintf(warn, "skipping country with malformed code %q\n", c.Code)
			continue
		}
		iso := strings.ToUpper(c.Code)
		for _, p := range c.Providers {
			if p.GSM == nil || len(p.GSM.IDs) == 0 {
				continue
			}
			name := providerName(p.Names)
			if name == "" {
				fmt.Fprintf(warn, "%s: skipping provider without a name\n", iso)
				continue
			}
			k := key{iso, name}
			pr := merged[k]
			if pr == nil {
				pr = &provider{name: name, country: iso, ids: map[plmn]bool{}}
				merged[k] = pr
				provs = append(provs, pr)
			}
			pr.primary = max(pr.primary, primaryRank(p.Primary))
			pr.elements += p.GSM.Elements
			for _, id := range p.GSM.IDs {
				if !mccRe.MatchString(id.MCC) || !mncRe.MatchString(id.MNC) {
					fmt.Fprintf(warn, "%s %q: skipping malformed network-id mcc=%q mnc=%q\n", iso, name, id.MCC, id.MNC)
					continue
				}
				pr.ids[id] = true
			}
		}
	}

	// Candidates per PLMN, then the winner by the documented order.
	cands := map[plmn][]*provider{}
	for _, pr := range provs {
		for id := range pr.ids {
			cands[id] = append(cands[id], pr)
		}
	}
	for id, list := range cands {
		winner := slices.MinFunc(list, better)
		winner.won = append(winner.won, id)
	}

	provs = applySeeds(provs)

	var nets []network
	for _, pr := range provs {
		if len(pr.won) == 0 {
			continue
		}
		slices.SortFunc(pr.won, comparePLMN)
		nets = append(nets, network{
			Sid:          sid(pr.won[0]),
			FriendlyName: pr.name,
			IsoCountry:   pr.country,
			Identifiers:  pr.won,
		})
	}
	slices.SortFunc(nets, func(a, b network) int {
		return cmp.Or(
			cmp.Compare(a.IsoCountry, b.IsoCountry),
			cmp.Compare(a.FriendlyName, b.FriendlyName),
			cmp.Compare(a.Sid, b.Sid),
		)
	})
	return encode(nets, version)
}

// seedNetwork is a network as the Super SIM documentation states it.
type seedNetwork struct {
	country, name string
	ids           []plmn
}

// seedNetworks are the networks of the seed pages' examples ("Vodafone in
// the UK (MCC 234) has three MNCs: 15, 27 and 91"; Sprint's MNC 530, which
// is assigned under the United States' MCC 312).
var seedNetworks = []seedNetwork{
	{"GB", "Vodafone", []plmn{{"234", "15"}, {"234", "27"}, {"234", "91"}}},
	{"US", "Sprint", []plmn{{"312", "530"}}},
}

// applySeeds gives each seed network its PLMNs, taking them from the
// providers that won them, and returns provs with any seed network the XML
// lacks appended.
func applySeeds(provs []*provider) []*provider {
	for _, sn := range seedNetworks {
		var own *provider
		for _, pr := range provs {
			if pr.country == sn.country && pr.name == sn.name {
				own = pr
			}
		}
		if own == nil {
			own = &provider{name: sn.name, country: sn.country, ids: map[plmn]bool{}}
			provs = append(provs, own)
		}
		for _, id := range sn.ids {
			for _, pr := range provs {
				pr.won = slices.DeleteFunc(pr.won, func(w plmn) bool { return w == id })
			}
			own.won = append(own.won, id)
			own.ids[id] = true
		}
	}
	return provs
}

// better orders candidates for one PLMN: the smallest one gets it.
func better(a, b *provider) int {
	return cmp.Or(
		cmp.Compare(b.primary, a.primary),
		cmp.Compare(len(b.ids), len(a.ids)),
		cmp.Compare(b.elements, a.elements),
		cmp.Compare(a.name, b.name),
		cmp.Compare(a.country, b.country),
	)
}

func comparePLMN(a, b plmn) int {
	return cmp.Or(cmp.Compare(a.MCC, b.MCC), cmp.Compare(a.MNC, b.MNC))
}

func primaryRank(attr string) int {
	switch strings.TrimSpace(attr) {
	case "true":
		return 2
	case "false":
		return 0
	}
	return 1
}

func providerName(names []xmlName) string {
	for _, n := range names {
		if n.Lang == "" {
			return strings.Join(strings.Fields(n.Value), " ")
		}
	}
	if len(names) > 0 {
		return strings.Join(strings.Fields(names[0].Value), " ")
	}
	return ""
}

func sid(lowest plmn) string {
	sum := sha256.Sum256([]byte(sidDerivationTag + lowest.MCC + "-" + lowest.MNC))
	return "HW" + hex.EncodeToString(sum[:16])
}

func encode(nets []network, version string) ([]byte, error) {
	var buf bytes.Buffer
	line := func(v any) error {
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return err
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
		return nil
	}
	source := fmt.Sprintf("Generated by sim/internal/gennetworks from serviceproviders.xml of the Debian package %s %s "+
		"(public domain, see the file header). Do not edit by hand.", debianPackage, version)
	buf.WriteString("{\n  \"source\": ")
	if err := line(source); err != nil {
		return nil, err
	}
	buf.WriteString(",\n  \"networks\": [")
	for i, n := range nets {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString("\n    ")
		if err := line(n); err != nil {
			return nil, err
		}
	}
	buf.WriteString("\n  ]\n}\n")
	return buf.Bytes(), nil
}
