package sim

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// webhookTimeout is how long Twilio waits for a webhook's response in all.
const webhookTimeout = 15 * time.Second

// webhooks delivers callbacks, one attempt each, signed as Twilio signs them.
type webhooks struct {
	client *http.Client
	logger *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newWebhooks(client *http.Client, logger *slog.Logger) *webhooks {
	if client == nil {
		client = &http.Client{Timeout: webhookTimeout}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &webhooks{client: client, logger: logger, ctx: ctx, cancel: cancel}
}

// send delivers params to target with method (GET: query string, POST: form).
func (w *webhooks) send(authToken, target, method string, params url.Values) {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		ctx, cancel := context.WithTimeout(w.ctx, webhookTimeout)
		defer cancel()
		var req *http.Request
		var err error
		signed := target
		if method == http.MethodGet {
			u, perr := url.Parse(target)
			if perr != nil {
				w.logger.Warn("callback URL", "url", target, "err", perr)
				return
			}
			q := u.Query()
			for k, v := range params {
				q[k] = v
			}
			u.RawQuery = q.Encode()
			signed = u.String()
			req, err = http.NewRequestWithContext(ctx, http.MethodGet, signed, nil)
		} else {
			req, err = http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(params.Encode()))
			if err == nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
		}
		if err != nil {
			w.logger.Warn("callback request", "url", target, "err", err)
			return
		}
		if method != http.MethodGet {
			req.Header.Set("X-Twilio-Signature", Signature(authToken, signed, params))
		} else {
			req.Header.Set("X-Twilio-Signature", Signature(authToken, signed, nil))
		}
		req.Header.Set("User-Agent", "TwilioProxy/1.1 (fleetsim)")
		resp, err := w.client.Do(req)
		if err != nil {
			w.logger.Warn("callback failed", "url", target, "err", err)
			return
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			w.logger.Warn("callback answered non-2xx", "url", target, "status", resp.StatusCode)
		}
	}()
}

func (w *webhooks) close() {
	w.cancel()
	w.wg.Wait()
}

// Signature computes X-Twilio-Signature: base64 HMAC-SHA1, keyed with the
// auth token, of the URL followed by each POST parameter's name and value in
// name order.
func Signature(authToken, target string, params url.Values) string {
	var b strings.Builder
	b.WriteString(target)
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vals := append([]string(nil), params[k]...)
		sort.Strings(vals)
		for _, v := range vals {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
