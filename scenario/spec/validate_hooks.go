package spec

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// accountSet records the accounts a scenario may name: its subaccounts
// and main.
func (v *validator) accountSet() {
	s := v.s
	accts := v.unique("account", "control.accounts", len(s.Control.Accounts), func(i int) (string, Pos) {
		return s.Control.Accounts[i].Name, s.Control.Accounts[i].Pos
	})
	for i, a := range s.Control.Accounts {
		if a.Name == MainAccount {
			v.errorf(a.Pos.At("name"), fmt.Sprintf("control.accounts[%d].name", i), "main names the main account: give the subaccount another name")
		}
	}
	accts.index[MainAccount] = -1
	accts.list = append(accts.list, MainAccount)
	v.accounts = accts
}

// accountsAndCallbacks checks the accounts a scenario names and its
// callback receiver's uses.
func (v *validator) accountsAndCallbacks() {
	s := v.s
	// owner is the account of a name in ns, "" when it is unknown.
	owner := func(ns *nameSet, name string, account func(int) string) string {
		if i, ok := ns.index[name]; ok {
			if _, known := v.accounts.index[cmp.Or(account(i), MainAccount)]; known {
				return cmp.Or(account(i), MainAccount)
			}
		}
		return ""
	}
	// known is an account name that exists, main when empty; "" when unknown.
	known := func(name string) string {
		if _, ok := v.accounts.index[cmp.Or(name, MainAccount)]; ok {
			return cmp.Or(name, MainAccount)
		}
		return ""
	}
	napOwner := func(i int) string { return s.Control.NAPs[i].Account }
	fleetOwner := func(i int) string { return s.Control.Fleets[i].Account }
	for i, n := range s.Control.NAPs {
		v.account(n.Pos, fmt.Sprintf("control.naps[%d]", i), n.Account)
	}
	for i, f := range s.Control.Fleets {
		path := fmt.Sprintf("control.fleets[%d]", i)
		v.account(f.Pos, path, f.Account)
		if o := owner(&v.naps, f.NAP, napOwner); o != "" && known(f.Account) != "" && o != known(f.Account) {
			v.errorf(f.Pos.At("nap"), path+".nap", "NAP %q belongs to account %s, the Fleet to %s: a Fleet's NAP must be its own account's", f.NAP, o, cmp.Or(f.Account, MainAccount))
		}
		if f.CallbackMethod != "" && !f.Callbacks {
			v.errorf(f.Pos.At("callback_method"), path+".callback_method", "only with callbacks: true")
		}
	}
	for i, g := range s.Devices {
		path := fmt.Sprintf("devices[%d]", i)
		v.account(g.Pos, path, g.Account)
		if o := owner(&v.fleets, g.Fleet, fleetOwner); o != "" && known(g.Account) != "" && o != known(g.Account) {
			v.errorf(g.Pos.At("fleet"), path+".fleet", "Fleet %q belongs to account %s, the group's SIMs to %s: a SIM's Fleet must be its own account's", g.Fleet, o, cmp.Or(g.Account, MainAccount))
		}
	}
	for i := range s.Timeline {
		e := &s.Timeline[i]
		path := fmt.Sprintf("timeline[%d]", i)
		if c := e.SIMs; c != nil {
			p := path + ".sims"
			v.account(c.Pos, p, c.Account)
			if c.Account != "" && c.Fleet != "" {
				if o := owner(&v.fleets, c.Fleet, fleetOwner); o != "" && known(c.Account) != "" && o != c.Account {
					v.errorf(c.Pos.At("fleet"), p+".fleet", "Fleet %q belongs to account %s: SIMs moving to %s need one of its Fleets, or none", c.Fleet, o, c.Account)
				}
			}
			if c.CallbackMethod != "" && c.Callback == "" {
				v.errorf(c.Pos.At("callback_method"), p+".callback_method", "only with callback")
			}
		}
		if c := e.API; c != nil {
			v.account(c.Pos, path+".api", c.Account)
			keys := make([]string, 0, len(c.Params))
			for k := range c.Params {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				v.placeholders(c.Pos.At("params"), path+".api.params."+k, c.Params[k])
			}
		}
	}
	for i := range s.Expect {
		x := &s.Expect[i]
		path := fmt.Sprintf("expect[%d]", i)
		v.account(x.Pos, path, x.Account)
		if x.Account != "" && !x.SIMs.Set() && !x.UsageMB.Set() && !x.UploadMB.Set() && !x.DownloadMB.Set() && x.API == nil {
			v.errorf(x.Pos.At("account"), path+".account", "only with sims, usage_mb, upload_mb, download_mb or api: the checks made through the API")
		}
		if c := x.Callbacks; c != nil {
			v.callbackCheck(c, path+".callbacks")
		}
	}
}

// account checks the account key of the thing at p.
func (v *validator) account(p Pos, path, name string) {
	if name != "" || p.written("account") {
		v.ref(p.At("account"), path+".account", &v.accounts, name)
	}
}

// placeholder checks {account:NAME} and {callback:KIND}.
func (v *validator) placeholder(at Pos, path, whole, kind, name string) {
	switch kind {
	case "account":
		v.ref(at, path, &v.accounts, name)
	case "callback":
		if !slices.Contains(CallbackKinds, name) {
			v.errorf(at, path, "placeholder %s: want a kind of callback, one of %s", whole, strings.Join(CallbackKinds, ", "))
		}
	}
}

func (v *validator) callbackCheck(c *CallbackCheck, path string) {
	if c.Count.Set() && (c.Count.IsDur || c.Count.Bound.Percent) {
		v.errorf(c.Pos.At("count"), path+".count", "want a number of callbacks such as '== 10', not a share or a duration")
	}
	if !c.Count.Set() && len(c.Params) == 0 && !c.Signed && c.Order == nil {
		v.errorf(c.Pos, path, "nothing to check: want count, params, signed or order")
	}
	keys := make([]string, 0, len(c.Where))
	for k := range c.Where {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v.placeholders(c.Pos.At("where"), path+".where."+k, c.Where[k])
	}
	for j, p := range c.Params {
		pp := fmt.Sprintf("%s.params[%d]", path, j)
		switch {
		case p.Equals != nil && len(p.In) > 0:
			v.errorf(p.Pos.At("in"), pp+".in", "equals and in exclude each other")
		case p.Equals == nil && len(p.In) == 0:
			v.errorf(p.Pos, pp, "no value: want equals or in")
		case p.Equals != nil:
			v.placeholders(p.Pos.At("equals"), pp+".equals", *p.Equals)
		}
	}
	if o := c.Order; o != nil && len(o.Values) == 0 {
		v.errorf(o.Pos.At("values"), path+".order.values", "must not be empty")
	}
}

// callbackKinds are the kinds a receiver URL may name, as the control
// plane names them (sim.WebhookKind).
var CallbackKinds = []string{"sim_update", "sms_command_status", "ip_command_status", "fleet_sms_command", "fleet_ip_command"}

// mainAccount names the main account wherever a scenario names an account.
const MainAccount = "main"
