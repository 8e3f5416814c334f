package webhook_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/bahasha/bahasha/sdk/webhook"
)

// The expected value was computed independently:
// printf '%s' '{"object":"whatsapp_business_account"}' | openssl dgst -sha256 -hmac app-secret
const (
	vectorBody   = `{"object":"whatsapp_business_account"}`
	vectorSecret = "app-secret"
	vectorSig    = "sha256=0bf7374433906636bed1653bc7c64affb42fa5da9a39e251ab95c2e3a9c06923"
)

func TestSignKnownVector(t *testing.T) {
	if got := webhook.Sign(vectorSecret, []byte(vectorBody)); got != vectorSig {
		t.Fatalf("Sign = %s, want %s", got, vectorSig)
	}
}

func TestVerifySignature(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		body    string
		header  string
		want    error
	}{
		{"valid", []string{vectorSecret}, vectorBody, vectorSig, nil},
		{"valid uppercase hex and prefix", []string{vectorSecret}, vectorBody, "SHA256=" + strings.ToUpper(vectorSig[7:]), nil},
		{"valid with surrounding space", []string{vectorSecret}, vectorBody, " " + vectorSig + " ", nil},
		{"second secret (rotation)", []string{"new-secret", vectorSecret}, vectorBody, vectorSig, nil},
		{"empty secrets skipped", []string{"", vectorSecret}, vectorBody, vectorSig, nil},
		{"missing", []string{vectorSecret}, vectorBody, "", webhook.ErrMissingSignature},
		{"blank", []string{vectorSecret}, vectorBody, "   ", webhook.ErrMissingSignature},
		{"no prefix", []string{vectorSecret}, vectorBody, vectorSig[7:], webhook.ErrMalformedSignature},
		{"sha1 prefix", []string{vectorSecret}, vectorBody, "sha1=" + vectorSig[7:], webhook.ErrMalformedSignature},
		{"short", []string{vectorSecret}, vectorBody, vectorSig[:len(vectorSig)-2], webhook.ErrMalformedSignature},
		{"long", []string{vectorSecret}, vectorBody, vectorSig + "00", webhook.ErrMalformedSignature},
		{"not hex", []string{vectorSecret}, vectorBody, "sha256=" + strings.Repeat("zz", 32), webhook.ErrMalformedSignature},
		{"wrong secret", []string{"other"}, vectorBody, vectorSig, webhook.ErrSignatureMismatch},
		{"body changed by one byte", []string{vectorSecret}, vectorBody + " ", vectorSig, webhook.ErrSignatureMismatch},
		{"re-encoded body", []string{vectorSecret}, `{"object": "whatsapp_business_account"}`, vectorSig, webhook.ErrSignatureMismatch},
		{"no secret", nil, vectorBody, vectorSig, webhook.ErrNoSecret},
		{"only empty secrets", []string{""}, vectorBody, vectorSig, webhook.ErrNoSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secrets := tt.secrets
			err := webhook.VerifySignatureAny(secrets, []byte(tt.body), tt.header)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("VerifySignatureAny = %v, want %v", err, tt.want)
			}
			if len(tt.secrets) == 1 {
				if err2 := webhook.VerifySignature(secrets[0], []byte(tt.body), tt.header); !errors.Is(err2, tt.want) || (tt.want == nil && err2 != nil) {
					t.Fatalf("VerifySignature = %v, want %v", err2, tt.want)
				}
			}
		})
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, body := range []string{"", "{}", "caf\u00e9 \U0001F600", strings.Repeat("x", 1<<16)} {
		secret := "s3cret"
		if err := webhook.VerifySignature(secret, []byte(body), webhook.Sign(secret, []byte(body))); err != nil {
			t.Errorf("body of %d bytes: %v", len(body), err)
		}
	}
}

// TestParse: Parse verifies with any of the secrets, then parses; with no
// secret it refuses rather than accept an unsigned body.
func TestParse(t *testing.T) {
	body := []byte(`{"object":"whatsapp_business_account","entry":[]}`)
	sig := webhook.Sign(vectorSecret, body)
	for _, c := range []struct {
		name    string
		header  string
		secrets []string
		want    error
	}{
		{"signed with the secret", sig, []string{vectorSecret}, nil},
		{"signed with the previous secret", sig, []string{"new-secret", vectorSecret}, nil},
		{"no secret given", sig, nil, webhook.ErrNoSecret},
		{"no signature", "", []string{vectorSecret}, webhook.ErrMissingSignature},
		{"another secret", sig, []string{"other"}, webhook.ErrSignatureMismatch},
	} {
		n, err := webhook.Parse(body, c.header, c.secrets...)
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: Parse error %v, want %v", c.name, err, c.want)
		}
		if (n != nil) != (c.want == nil) {
			t.Errorf("%s: Parse returned %v with error %v", c.name, n, err)
		}
	}
}
