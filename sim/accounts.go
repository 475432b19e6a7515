package sim

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"regexp"
)

var (
	accountSidRE = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	authTokenRE  = regexp.MustCompile(`^[0-9A-Za-z]{16,64}$`)
)

// ensureMain makes sure the main account exists, with the configured
// credentials if there are any.
func (c *Control) ensureMain(ctx context.Context) error {
	sid, token := c.cfg.mainSid, c.cfg.mainToken
	if (sid == "") != (token == "") {
		return fmt.Errorf("the main account needs both an Account SID and an auth token")
	}
	if sid != "" {
		if !accountSidRE.MatchString(sid) {
			return fmt.Errorf("account SID %q does not match ^AC[0-9a-fA-F]{32}$", sid)
		}
		if !authTokenRE.MatchString(token) {
			return fmt.Errorf("auth token must be 16 to 64 letters or digits")
		}
		if c.main != nil && c.main.Sid != sid {
			return fmt.Errorf("the state belongs to main account %s, not %s: use another --state or that account", c.main.Sid, sid)
		}
		if c.main != nil && c.main.AuthToken == token {
			return nil
		}
	} else if c.main != nil {
		return nil
	}
	return c.write(ctx, func(t *txn) error {
		// Another replica of a shared store may have made it meanwhile.
		if c.main != nil && (sid == "" || c.main.Sid == sid && c.main.AuthToken == token) {
			return nil
		}
		if c.main != nil && c.main.Sid != sid {
			return fmt.Errorf("the state belongs to main account %s, not %s: use another --state or that account", c.main.Sid, sid)
		}
		a := &Account{FriendlyName: "fleetsim main account", DateCreated: c.Now()}
		if c.main != nil {
			cp := *c.main
			a = &cp
		} else {
			a.Seq = c.nextSeq()
			a.Sid = sid
		}
		if a.Sid == "" {
			a.Sid = c.newSid("AC")
		}
		a.AuthToken = token
		if a.AuthToken == "" {
			a.AuthToken = c.newSid("")
		}
		t.put("account", a.Sid, a, func() {
			c.accounts.set(a.Sid, a, a.Seq)
			c.main = a
		})
		return nil
	})
}

// MainAccount returns the simulator's main account.
func (c *Control) MainAccount() *Account {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.main
}

// Authenticate returns the account whose SID and auth token these are.
func (c *Control) Authenticate(sid, token string) (*Account, error) {
	c.mu.RLock()
	a := c.accounts.get(sid)
	c.mu.RUnlock()
	if a == nil || subtle.ConstantTimeCompare([]byte(a.AuthToken), []byte(token)) != 1 {
		return nil, errorf(CodeUnauthorized, http.StatusUnauthorized, "Authentication Error - invalid username")
	}
	return a, nil
}

// Accounts returns the main account followed by its subaccounts.
func (c *Control) Accounts() []*Account {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.accounts.all()
}

// CreateSubaccount creates a subaccount of the main account.
func (c *Control) CreateSubaccount(ctx context.Context, friendlyName string) (*Account, error) {
	if len(friendlyName) > 64 {
		return nil, invalidParam("FriendlyName is longer than 64 characters")
	}
	var a *Account
	err := c.write(ctx, func(t *txn) error {
		a = &Account{
			Sid:          c.newSid("AC"),
			AuthToken:    c.newSid(""),
			FriendlyName: friendlyName,
			ParentSid:    c.main.Sid,
			DateCreated:  c.Now(),
			Seq:          c.nextSeq(),
		}
		if a.FriendlyName == "" {
			a.FriendlyName = "SubAccount Created at " + a.DateCreated.Format("2006-01-02 15:04")
		}
		t.put("account", a.Sid, a, func() { c.accounts.set(a.Sid, a, a.Seq) })
		return nil
	})
	return a, err
}

// mayActOn reports whether the requesting account may address resources of
// owner: its own, and the main account those of its subaccounts. Callers hold c.mu.
func (c *Control) mayActOn(requester *Account, owner string) bool {
	if requester.Sid == owner {
		return true
	}
	if !requester.IsMain() {
		return false
	}
	o := c.accounts.get(owner)
	return o != nil && o.ParentSid == requester.Sid
}
