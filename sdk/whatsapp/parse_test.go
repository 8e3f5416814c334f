package whatsapp

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// corpus returns the files of testdata/<dir>, by name, in name order.
func corpus(t testing.TB, dir string) (names []string, files map[string][]byte) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no corpus files in testdata/%s", dir)
	}
	files = make(map[string][]byte, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(p)
		names = append(names, name)
		files[name] = b
	}
	slices.Sort(names)
	return names, files
}

func mustParseFile(t testing.TB, name string) *Notification {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "valid", name))
	if err != nil {
		t.Fatal(err)
	}
	n, err := Parse(b)
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return n
}

func messagesOf(n *Notification) []MessageEvent { return slices.Collect(n.Messages()) }
func statusesOf(n *Notification) []StatusEvent  { return slices.Collect(n.Statuses()) }

// onlyMessage returns the single message of n.
func onlyMessage(t *testing.T, n *Notification) *Message {
	t.Helper()
	ms := messagesOf(n)
	if len(ms) != 1 {
		t.Fatalf("got %d messages, want 1", len(ms))
	}
	return ms[0].Message
}

func unix(t *testing.T, ts Timestamp) int64 {
	t.Helper()
	u, ok := ts.Unix()
	if !ok {
		t.Fatalf("Timestamp %q: Unix() not ok", ts.String())
	}
	return u
}

// eq fails the test when got != want, naming what was compared.
func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %#v, want %#v", what, got, want)
	}
}

func TestParseValidCorpus(t *testing.T) {
	names, files := corpus(t, "valid")
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			n, err := Parse(files[name])
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			eq(t, "Object", n.Object, ObjectWhatsAppBusinessAccount)
			if len(n.Entry) == 0 {
				t.Fatal("no entries")
			}
			for _, e := range n.Entry {
				if e.ID == "" || len(e.Changes) == 0 {
					t.Errorf("entry %+v: want an id and changes", e)
				}
				for _, c := range e.Changes {
					if len(c.Value.Raw) == 0 {
						t.Errorf("change %q: Value.Raw not kept", c.Field)
					}
					for _, m := range c.Value.Messages {
						if !json.Valid(m.Raw) {
							t.Errorf("message %s: Raw %q is not JSON", m.ID, m.Raw)
						}
						if m.ID == "" || m.Type == "" {
							t.Errorf("message %+v: want an id and a type", m)
						}
					}
					for _, s := range c.Value.Statuses {
						if !json.Valid(s.Raw) {
							t.Errorf("status %s: Raw %q is not JSON", s.ID, s.Raw)
						}
						if _, ok := s.Timestamp.Unix(); !ok {
							t.Errorf("status %s: timestamp %q not a Unix time", s.ID, s.Timestamp)
						}
					}
					for _, ct := range c.Value.Contacts {
						if !json.Valid(ct.Raw) {
							t.Errorf("contact %s: Raw %q is not JSON", ct.WaID, ct.Raw)
						}
					}
				}
			}
			// The notification must not alias the body.
			body := slices.Clone(files[name])
			n2, _ := Parse(body)
			want, _ := json.Marshal(n2)
			for i := range body {
				body[i] = 'x'
			}
			got, _ := json.Marshal(n2)
			if string(got) != string(want) {
				t.Error("the parsed notification changed when the body was overwritten: it retains the body")
			}
		})
	}
}

// expectations checks specific typed values, file by file.
var expectations = map[string]func(t *testing.T, n *Notification){
	"seed_doc_status_delivered.json": func(t *testing.T, n *Notification) {
		ss := statusesOf(n)
		if len(ss) != 1 {
			t.Fatalf("got %d statuses", len(ss))
		}
		s := ss[0]
		eq(t, "WABAID", s.WABAID, "WABA_ID")
		eq(t, "Metadata", s.Metadata, Metadata{DisplayPhoneNumber: "+254700000000", PhoneNumberID: "123456789"})
		eq(t, "ID", s.Status.ID, "wamid.HBgNMjU0NzEyMzQ1Njc4FQIAERgSNDQ1...")
		eq(t, "Status", s.Status.Status, StatusDelivered)
		eq(t, "Timestamp", unix(t, s.Status.Timestamp), 1700000001)
		eq(t, "Time", s.Status.Timestamp.Time().Format("2006-01-02T15:04:05Z07:00"), "2023-11-14T22:13:21Z")
		eq(t, "RecipientID", s.Status.RecipientID, "254712345678")
		eq(t, "Contact", s.Contact, (*Contact)(nil))
		eq(t, "FirstError", s.Status.FirstError(), (*Error)(nil))
		eq(t, "Conversation", s.Status.Conversation, (*Conversation)(nil))
		eq(t, "Pricing", s.Status.Pricing, (*Pricing)(nil))
	},
	"seed_doc_reply_text.json": func(t *testing.T, n *Notification) {
		ms := messagesOf(n)
		if len(ms) != 1 {
			t.Fatalf("got %d messages", len(ms))
		}
		m := ms[0]
		eq(t, "From", m.Message.From, "254712345678")
		eq(t, "Type", m.Message.Type, MessageText)
		eq(t, "Body", m.Message.Text.Body, "Thank you, I received my order!")
		eq(t, "Timestamp", unix(t, m.Message.Timestamp), 1700000005)
		eq(t, "Known", m.Message.Known(), true)
		if m.Contact == nil {
			t.Fatal("no contact")
		}
		eq(t, "Contact.Name", m.Contact.Profile.Name, "Jane Smith")
		eq(t, "Contact.WaID", m.Contact.WaID, "254712345678")
	},
	"status_failed_131026.json": func(t *testing.T, n *Notification) {
		s := n.Entry[0].Changes[0].Value.Statuses[0]
		eq(t, "Status", s.Status, StatusFailed)
		eq(t, "Timestamp", unix(t, s.Timestamp), 1700000010)
		e := s.FirstError()
		if e == nil {
			t.Fatal("FirstError() = nil")
		}
		eq(t, "Code", e.Code, 131026)
		eq(t, "Title", e.Title, "Message undeliverable")
		eq(t, "Message", e.Message, "This message is undeliverable")
		eq(t, "Details", e.ErrorData.Details, "The recipient phone number is not a WhatsApp phone number.")
	},
	"status_sent_cbp.json": func(t *testing.T, n *Notification) {
		s := n.Entry[0].Changes[0].Value.Statuses[0]
		eq(t, "Status", s.Status, StatusSent)
		eq(t, "Timestamp", unix(t, s.Timestamp), 1750263773)
		if s.Conversation == nil || s.Pricing == nil {
			t.Fatal("conversation or pricing missing")
		}
		eq(t, "Conversation.ID", s.Conversation.ID, "a1b2c3d4e5f60718293a4b5c6d7e8f90")
		eq(t, "Conversation.Expiration", unix(t, s.Conversation.ExpirationTimestamp), 1750350180)
		eq(t, "Origin", s.Conversation.Origin.Type, "utility")
		eq(t, "Pricing", *s.Pricing, Pricing{Billable: true, PricingModel: "CBP", Category: "utility"})
	},
	"status_read_pricing.json": func(t *testing.T, n *Notification) {
		ss := n.Entry[0].Changes[0].Value.Statuses
		if len(ss) != 3 {
			t.Fatalf("got %d statuses", len(ss))
		}
		eq(t, "[0].Status", ss[0].Status, StatusRead)
		eq(t, "[0].RecipientType", ss[0].RecipientType, "individual")
		eq(t, "[0].Origin", ss[0].Conversation.Origin.Type, "marketing")
		eq(t, "[0].Pricing", *ss[0].Pricing, Pricing{Billable: true, PricingModel: "CBP", Category: "marketing"})
		eq(t, "[1].Conversation", ss[1].Conversation, (*Conversation)(nil))
		eq(t, "[1].Pricing", *ss[1].Pricing, Pricing{Billable: false, PricingModel: "PMP", Category: "service", Type: "free_customer_service"})
		eq(t, "[2].Status", ss[2].Status, StatusDelivered)
		eq(t, "[2].Pricing", *ss[2].Pricing, Pricing{Billable: true, PricingModel: "PMP", Category: "utility", Type: "regular"})
	},
	"status_played_deleted_warning.json": func(t *testing.T, n *Notification) {
		ss := n.Entry[0].Changes[0].Value.Statuses
		var got []StatusValue
		for _, s := range ss {
			got = append(got, s.Status)
		}
		if want := []StatusValue{StatusPlayed, StatusDeleted, StatusWarning, StatusDelivered}; !slices.Equal(got, want) {
			t.Errorf("statuses = %v, want %v", got, want)
		}
		e := ss[2].FirstError()
		eq(t, "warning code", e.Code, 131053)
		eq(t, "warning href", e.Href, "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/")
		eq(t, "group type", ss[3].RecipientType, "group")
		eq(t, "group participant", ss[3].RecipientParticipantID, "16505559876")
	},
	"status_biz_opaque.json": func(t *testing.T, n *Notification) {
		s := n.Entry[0].Changes[0].Value.Statuses[0]
		eq(t, "BizOpaqueCallbackData", s.BizOpaqueCallbackData, "order=8841;campaign=spring-sale")
	},
	"status_bsuid.json": func(t *testing.T, n *Notification) {
		ss := statusesOf(n)
		if len(ss) != 3 {
			t.Fatalf("got %d statuses", len(ss))
		}
		s := ss[0]
		eq(t, "RecipientID", s.Status.RecipientID, "")
		eq(t, "RecipientUserID", s.Status.RecipientUserID, "US.13491208655302741918")
		eq(t, "RecipientParentUserID", s.Status.RecipientParentUserID, "US.ENT.11815799212886844830")
		if s.Contact == nil {
			t.Fatal("status 0: no contact paired by user id")
		}
		eq(t, "Contact.Username", s.Contact.Profile.Username, "@pablomorales")
		eq(t, "Contact.UserID", s.Contact.UserID, "US.13491208655302741918")
		eq(t, "Contact.ParentUserID", s.Contact.ParentUserID, "US.ENT.11815799212886844830")
		eq(t, "Contact.WaID", s.Contact.WaID, "")
		if ss[1].Contact == nil {
			t.Fatal("status 1: no contact paired by wa_id")
		}
		eq(t, "status 1 contact", ss[1].Contact.Profile.Name, "Wanjiku")
		eq(t, "status 2 contact", ss[2].Contact, (*Contact)(nil))
	},
	"msg_text_context_forwarded.json": func(t *testing.T, n *Notification) {
		ms := n.Entry[0].Changes[0].Value.Messages
		if len(ms) != 4 {
			t.Fatalf("got %d messages", len(ms))
		}
		eq(t, "reply Context", *ms[0].Context, Context{From: "15550783881", ID: "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJCVVNJTkVTU01TRzAwMDAwMDEA"})
		eq(t, "reply body", ms[0].Text.Body, "Yes, Tuesday at 10 works for me.")
		eq(t, "forwarded", ms[1].Context.Forwarded, true)
		eq(t, "forwarded frequently", ms[1].Context.FrequentlyForwarded, false)
		eq(t, "frequently forwarded", ms[2].Context.FrequentlyForwarded, true)
		eq(t, "referred product", *ms[3].Context.ReferredProduct, ReferredProduct{CatalogID: "194836987003835", ProductRetailerID: "di9ozbzfi4"})
	},
	"msg_image.json": func(t *testing.T, n *Notification) {
		m := onlyMessage(t, n)
		eq(t, "Type", m.Type, MessageImage)
		eq(t, "Caption", m.Image.Caption, "The crack on the screen")
		eq(t, "ID", m.Image.ID, "1003383421387256")
		eq(t, "MimeType", m.Image.MimeType, "image/jpeg")
		eq(t, "SHA256", m.Image.SHA256, "3tDVy6fFkZMYmq7FyA1UDqrKbExJ3U6jC3l0cUmzD5o=")
		if !strings.HasPrefix(m.Image.URL, "https://lookaside.fbsbx.com/") || !strings.Contains(m.Image.URL, "&ext=") {
			t.Errorf("URL = %q", m.Image.URL)
		}
		eq(t, "Text", m.Text, (*Text)(nil))
	},
	"msg_audio_voice.json": func(t *testing.T, n *Notification) {
		m := onlyMessage(t, n)
		eq(t, "Type", m.Type, MessageAudio)
		eq(t, "Voice", m.Audio.Voice, true)
		eq(t, "MimeType", m.Audio.MimeType, "audio/ogg; codecs=opus")
	},
	"msg_video.json": func(t *testing.T, n *Notification) {
		m := onlyMessage(t, n)
		eq(t, "Type", m.Type, MessageVideo)
		eq(t, "Video", *m.Video, Media{ID: "2131573837265487", MimeType: "video/mp4", SHA256: "oGsNYrk1CaC0Qxdwx1sV6VFvH8I2QGfm2S2vJ5D7s9c=", Caption: "Unboxing"})
	},
	"msg_document.json": func(t *testing.T, n *Notification) {
		m := onlyMessage(t, n)
		eq(t, "Type", m.Type, MessageDocument)
		eq(t, "Filename", m.Document.Filename, "contract-2025-06.pdf")
		eq(t, "Caption", m.Document.Caption, "Signed contract")
		eq(t, "MimeType", m.Document.MimeType, "application/pdf")
	},
	"msg_sticker_animated.json": func(t *testing.T, n *Notification) {
		m := onlyMessage(t, n)
		eq(t, "Type", m.Type, MessageSticker)
		eq(t, "Animated", m.Sticker.Animated, true)
		eq(t, "MimeType", m.Sticker.MimeType, "image/webp")
	},
	"msg_location.json": func(t *testing.T, n *Notification) {
		m := onlyMessage(t, n)
		eq(t, "Type", m.Type, MessageLocation)
		eq(t, "Latitude", m.Location.Latitude.String(), "37.483307")
		eq(t, "Longitude", m.Location.Longitude.String(), "-122.148981")
		lat, err := m.Location.Latitude.Float64()
		if err != nil || lat != 37.483307 {
			t.Errorf("Latitude.Float64() = %v, %v", lat, err)
		}
		eq(t, "Name", m.Location.Name, "Meta Headquarters")
		eq(t, "Address", m.Location.Address, "1 Hacker Way, Menlo Park, CA 94025")
		eq(t, "URL", m.Location.URL, "https://www.meta.com")
	},
	"msg_contacts_card.json": func(t *testing.T, n *Notification) {
		m := onlyMessage(t, n)
		eq(t, "Type", m.Type, MessageContacts)
		if len(m.Contacts) != 1 {
			t.Fatalf("got %d cards", len(m.Contacts))
		}
		c := m.Contacts[0]
		eq(t, "Name", c.Name, ContactName{FormattedName: "Barbara J. Johnson", FirstName: "Barbara", LastName: "Johnson", MiddleName: "Joana", Suffix: "Esq.", Prefix: "Dr."})
		eq(t, "Birthday", c.Birthday, "1999-01-23")
		eq(t, "Org", *c.Org, ContactOrg{Company: "Example, Inc.", Department: "Sales", Title: "Manager"})
		if len(c.Addresses) != 1 || len(c.Emails) != 2 || len(c.Phones) != 2 || len(c.URLs) != 1 {
			t.Fatalf("card lists: %d addresses, %d emails, %d phones, %d urls", len(c.Addresses), len(c.Emails), len(c.Phones), len(c.URLs))
		}
		eq(t, "Address", c.Addresses[0], ContactAddress{Street: "1 Hacker Way", City: "Menlo Park", State: "CA", Zip: "94025", Country: "United States", CountryCode: "us", Type: "WORK"})
		eq(t, "Email[1]", c.Emails[1], ContactEmail{Email: "bjohnson@example.org", Type: "HOME"})
		eq(t, "Phone[1]", c.Phones[1], ContactPhone{Phone: "+1 (650) 555-1234", WaID: "16505551234", Type: "WORK"})
		eq(t, "URL", c.URLs[0], ContactURL{URL: "https://www.example.com", Type: "WORK"})
	},
	"msg_interactive_button_reply.json": func(t *testing.T, n *Notification) {
		m := onlyMessage(t, n)
		eq(t, "Type", m.Type, MessageInteractive)
		eq(t, "Interactive.Type", m.Interactive.Type, "button_reply")
		id, title, ok := m.Interactive.Reply()
		eq(t, "Reply", [3]any{id, title, ok}, [3]any{"confirm-appointment", "Confirm", true})
	},
	"msg_interactive_list_reply.json": func(t *testing.T, n *Notification) {
		m := onlyMessage(t, n)
		eq(t, "Interactive.Type", m.Interactive.Type, "list_reply")
		id, title, ok := m.Interactive.Reply()
		eq(t, "Reply", [3]any{id, title, ok}, [3]any{"priority-express", "Express", true})
		eq(t, "Description", m.Interactive.ListReply.Description, "Next day to most cities")
	},
	"msg_interactive_nfm_reply.json": func(t *testing.T, n *Notification) {
		m := onlyMessage(t, n)
		eq(t, "Interactive.Type", m.Interactive.Type, "nfm_reply")
		_, _, ok := m.Interactive.Reply()
		eq(t, "Reply ok", ok, false)
		eq(t, "Name", m.Interactive.NFMReply.Name, "flow")
		eq(t, "Body", m.Interactive.NFMReply.Body, "Sent")
		var resp struct {
			FlowToken string `json:"flow_token"`
			PartySize int    `json:"party_size"`
		}
		if err := json.Unmarshal([]byte(m.Interactive.NFMReply.ResponseJSON), &resp); err != nil {
			t.Fatalf("response_json: %v", err)
		}
		eq(t, "flow_token", resp.FlowToken, "AQAAAAACS5FpgQ_cAAAAAD0QI3s.")
		eq(t, "party_size", resp.PartySize, 4)
	},
	"msg_button.json": func(t *testing.T, n *Notification) {
		m := onlyMessage(t, n)
		eq(t, "Type", m.Type, MessageButton)
		eq(t, "Button", *m.Button, Button{Payload: "STOP_PROMOTIONS", Text: "Stop promotions"})
	},
	"msg_reaction.json": func(t *testing.T, n *Notification) {
		m := onlyMessage(t, n)
		eq(t, "Type", m.Type, MessageReaction)
		eq(t, "Emoji", m.Reaction.Emoji, "👍")
		eq(t, "Removed", m.Reaction.Removed(), false)
		eq(t, "MessageID", m.Reaction.MessageID, "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJSRUFDVEVEVE8wMDAwMDAwMDEA")
	},
	"msg_reaction_removed.json": func(t *testing.T, n *Notification) {
		m := onlyMessage(t, n)
		eq(t, "Removed", m.Reaction.Removed(), true)
	},
	"msg_reaction_removed_absent.json": func(t *testing.T, n *Notification) {
		m := onlyMessage(t, n)
		eq(t, "Removed", m.Reaction.Removed(), true)
		eq(t, "MessageID", m.Reaction.MessageID, "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJSRUFDVEVEVE8wMDAwMDAwMDEA")
	},
	"msg_order.json": func(t *testing.T, n *Notification) {
		m := onlyMessage(t, n)
		eq(t, "Type", m.Type, MessageOrder)
		eq(t, "CatalogID", m.Order.CatalogID, "194836987003835")
		eq(t, "Text", m.Order.Text, "Please deliver before noon")
		items := m.Order.ProductItems
		if len(items) != 2 {
			t.Fatalf("got %d items", len(items))
		}
		eq(t, "ItemPrice", items[0].ItemPrice.String(), "7.99")
		eq(t, "Quantity", items[0].Quantity.String(), "2")
		q, err := items[0].Quantity.Int64()
		eq(t, "Quantity.Int64", q, 2)
		eq(t, "Quantity.Int64 err", err, nil)
		p, err := items[0].ItemPrice.Float64()
		eq(t, "ItemPrice.Float64", p, 7.99)
		eq(t, "ItemPrice.Float64 err", err, nil)
		if _, err := items[0].ItemPrice.Int64(); err == nil {
			t.Error("ItemPrice.Int64() of 7.99: want an error")
		}
		eq(t, "Currency", items[0].Currency, "USD")
		eq(t, "ItemPrice[1]", items[1].ItemPrice.String(), "12.5")
	},
	"msg_order_string_prices.json": func(t *testing.T, n *Notification) {
		items := onlyMessage(t, n).Order.ProductItems
		eq(t, "ItemPrice", items[0].ItemPrice.String(), "7.99")
		eq(t, "Quantity", items[0].Quantity.String(), "3")
		eq(t, "ItemPrice[1]", items[1].ItemPrice.String(), "1250.00")
		p, err := items[1].ItemPrice.Float64()
		eq(t, "ItemPrice[1].Float64", p, 1250.0)
		eq(t, "err", err, nil)
		eq(t, "Currency", items[1].Currency, "KES")
	},
	"msg_system_changed_number.json": func(t *testing.T, n *Notification) {
		ms := messagesOf(n)
		if len(ms) != 2 {
			t.Fatalf("got %d messages", len(ms))
		}
		eq(t, "Contact", ms[0].Contact, (*Contact)(nil))
		eq(t, "Type", ms[0].Message.Type, MessageSystem)
		eq(t, "System", *ms[0].Message.System, System{Type: "customer_changed_number", Body: "User A changed from 16505551234 to 16505559999", NewWaID: "16505559999"})
		eq(t, "System[1]", *ms[1].Message.System, System{Type: "user_changed_number", Body: "User Sheena Nelson changed from 16505551234 to 12195555358", WaID: "12195555358"})
	},
	"msg_unsupported.json": func(t *testing.T, n *Notification) {
		m := onlyMessage(t, n)
		eq(t, "Type", m.Type, MessageUnsupported)
		eq(t, "Known", m.Known(), true)
		if len(m.Errors) != 1 {
			t.Fatalf("got %d errors", len(m.Errors))
		}
		eq(t, "Error", m.Errors[0], Error{Code: 131051, Title: "Message type unknown", Message: "Message type unknown", ErrorData: ErrorData{Details: "Message type is currently not supported."}})
		var extra struct {
			Unsupported struct{ Type string } `json:"unsupported"`
		}
		if err := json.Unmarshal(m.Raw, &extra); err != nil || extra.Unsupported.Type != "poll" {
			t.Errorf("Raw unsupported.type = %q, %v", extra.Unsupported.Type, err)
		}
	},
	"msg_referral_ctwa.json": func(t *testing.T, n *Notification) {
		m := onlyMessage(t, n)
		eq(t, "Type", m.Type, MessageText)
		if m.Referral == nil {
			t.Fatal("no referral")
		}
		r := *m.Referral
		eq(t, "SourceType", r.SourceType, "ad")
		eq(t, "SourceID", r.SourceID, "120226305854810726")
		eq(t, "SourceURL", r.SourceURL, "https://fb.me/3cr4Wqqkv")
		eq(t, "Headline", r.Headline, "Chat with us")
		eq(t, "MediaType", r.MediaType, "image")
		eq(t, "ImageURL", r.ImageURL, "https://scontent.xx.fbcdn.net/v/t45.1600-4/ad.jpg")
		if !strings.HasPrefix(r.CTWAClid, "ARAkLkA8") {
			t.Errorf("CTWAClid = %q", r.CTWAClid)
		}
	},
	"msg_request_welcome.json": func(t *testing.T, n *Notification) {
		m := onlyMessage(t, n)
		eq(t, "Type", m.Type, MessageRequestWelcome)
		eq(t, "Known", m.Known(), true)
		eq(t, "Text", m.Text, (*Text)(nil))
	},
	"msg_identity.json": func(t *testing.T, n *Notification) {
		ms := messagesOf(n)
		m := ms[0].Message
		if m.Identity == nil {
			t.Fatal("no identity")
		}
		eq(t, "Acknowledged", m.Identity.Acknowledged, false)
		eq(t, "CreatedTimestamp", unix(t, m.Identity.CreatedTimestamp), 1750266000)
		eq(t, "Hash", m.Identity.Hash, "Sjvjlx8G6Z0=")
		eq(t, "IdentityKeyHash", ms[0].Contact.IdentityKeyHash, "DF2lS5v2W6x=")
		eq(t, "System", *ms[1].Message.System, System{Type: "customer_identity_changed", Body: "User identity changed", Identity: "Sjvjlx8G6Z0=", Customer: "16505551234"})
	},
	"msg_future_hologram.json": func(t *testing.T, n *Notification) {
		ms := messagesOf(n)
		m := ms[0].Message
		eq(t, "Type", m.Type, MessageType("hologram"))
		eq(t, "Known", m.Known(), false)
		eq(t, "Contact", ms[0].Contact.Profile.Name, "Sheena Nelson")
		eq(t, "Context.ID", m.Context.ID, "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJIT0xPMDAwMDAwMDAwMDAwMDEA")
		var h struct {
			Hologram struct {
				ID         string `json:"id"`
				DurationMS int    `json:"duration_ms"`
				Frames     []struct {
					Depth float64 `json:"depth"`
				} `json:"frames"`
			} `json:"hologram"`
			Version int `json:"hologram_version"`
		}
		if err := json.Unmarshal(m.Raw, &h); err != nil {
			t.Fatal(err)
		}
		eq(t, "hologram.id", h.Hologram.ID, "9981726354")
		eq(t, "hologram.duration_ms", h.Hologram.DurationMS, 4200)
		eq(t, "hologram frames", len(h.Hologram.Frames), 2)
		eq(t, "hologram_version", h.Version, 2)
		var v struct {
			Schema string `json:"value_schema"`
		}
		_ = json.Unmarshal(n.Entry[0].Changes[0].Value.Raw, &v)
		eq(t, "value_schema", v.Schema, "v99")
	},
	"timestamps_numbers.json": func(t *testing.T, n *Notification) {
		v := n.Entry[0].Changes[0].Value
		eq(t, "message ts", unix(t, v.Messages[0].Timestamp), 1700000005)
		eq(t, "status ts", unix(t, v.Statuses[0].Timestamp), 1700000001)
		eq(t, "expiration ts", unix(t, v.Statuses[0].Conversation.ExpirationTimestamp), 1700086400)
		eq(t, "billable", v.Statuses[0].Pricing.Billable, false)
	},
	"msg_bsuid_username.json": func(t *testing.T, n *Notification) {
		ms := messagesOf(n)
		m := ms[0]
		eq(t, "From", m.Message.From, "")
		eq(t, "FromUserID", m.Message.FromUserID, "US.13491208655302741918")
		eq(t, "FromParentUserID", m.Message.FromParentUserID, "US.ENT.11815799212886844830")
		if m.Contact == nil {
			t.Fatal("no contact paired by user id")
		}
		eq(t, "Username", m.Contact.Profile.Username, "@pablomorales")
		eq(t, "vcard", strings.HasPrefix(m.Message.Contacts[0].Vcard, "BEGIN:VCARD\n"), true)
		eq(t, "phone", m.Message.Contacts[0].Phones[0].Phone, "+1 650 555 0199")
	},
	"batch_multi_entry.json": func(t *testing.T, n *Notification) {
		eq(t, "entries", len(n.Entry), 2)
		c := n.Entry[1].Changes[0]
		eq(t, "field", c.Field, "message_template_status_update")
		var tmpl struct {
			Event string `json:"event"`
			ID    int64  `json:"message_template_id"`
		}
		if err := json.Unmarshal(c.Value.Raw, &tmpl); err != nil {
			t.Fatal(err)
		}
		eq(t, "template event", tmpl.Event, "APPROVED")
		eq(t, "template id", tmpl.ID, 594425479261596)
		eq(t, "emoji", n.Entry[1].Changes[1].Value.Messages[0].Reaction.Emoji, "❤️")
	},
	"unicode_raw.json": func(t *testing.T, n *Notification) {
		v := n.Entry[0].Changes[0].Value
		eq(t, "sw", v.Messages[0].Text.Body, "Habari za asubuhi! 😀🎉 Asante sana — “karibu” 👍🏽")
		eq(t, "ar", v.Messages[1].Text.Body, "مرحبا، هل الطلب جاهز؟")
		eq(t, "zh", v.Messages[2].Text.Body, "你好，我的订单在哪里？𠀀")
		eq(t, "zwj", v.Messages[3].Reaction.Emoji, "👨\u200d👩\u200d👧")
		eq(t, "name", v.Contacts[0].Profile.Name, "Zoë Müller 🌍")
	},
}

func TestParseExpectations(t *testing.T) {
	names, _ := corpus(t, "valid")
	for name, check := range expectations {
		if !slices.Contains(names, name) {
			t.Errorf("expectation for %s, which is not in testdata/valid", name)
			continue
		}
		t.Run(name, func(t *testing.T) { check(t, mustParseFile(t, name)) })
	}
	// Every corpus file but the escaped twin (compared below) has typed
	// expectations.
	for _, name := range names {
		if _, ok := expectations[name]; !ok && name != "unicode_escaped.json" {
			t.Errorf("testdata/valid/%s has no entry in expectations", name)
		}
	}
}

// withoutRaw returns a copy of n with every Raw field cleared.
func withoutRaw(n *Notification) *Notification {
	c := *n
	c.Raw = nil
	c.Entry = slices.Clone(n.Entry)
	for i := range c.Entry {
		e := &c.Entry[i]
		e.Changes = slices.Clone(e.Changes)
		for j := range e.Changes {
			v := &e.Changes[j].Value
			v.Raw = nil
			v.Contacts = slices.Clone(v.Contacts)
			for k := range v.Contacts {
				v.Contacts[k].Raw = nil
			}
			v.Messages = slices.Clone(v.Messages)
			for k := range v.Messages {
				v.Messages[k].Raw = nil
			}
			v.Statuses = slices.Clone(v.Statuses)
			for k := range v.Statuses {
				v.Statuses[k].Raw = nil
			}
		}
	}
	return &c
}

func TestUnicodeEscapedEqualsRaw(t *testing.T) {
	raw := mustParseFile(t, "unicode_raw.json")
	esc := mustParseFile(t, "unicode_escaped.json")
	if !reflect.DeepEqual(withoutRaw(raw), withoutRaw(esc)) {
		t.Errorf("escaped and raw UTF-8 files differ:\nraw: %+v\nesc: %+v", withoutRaw(raw), withoutRaw(esc))
	}
	// The Raw fields hold different bytes for the same JSON values.
	for i, m := range raw.Entry[0].Changes[0].Value.Messages {
		e := esc.Entry[0].Changes[0].Value.Messages[i]
		if !jsonEqual(t, m.Raw, e.Raw) {
			t.Errorf("message %d: Raw values differ: %s vs %s", i, m.Raw, e.Raw)
		}
	}
	a, _ := json.Marshal(raw)
	b, _ := json.Marshal(esc)
	if string(a) != string(b) {
		t.Errorf("marshalled forms differ:\n%s\n%s", a, b)
	}
}

// invalidCases names, for every file of testdata/invalid, a substring its
// error must contain: the offending field where there is one.
var invalidCases = map[string]string{
	"empty.json":                  "body is empty",
	"whitespace.json":             "body is empty",
	"not_json.json":               "malformed JSON",
	"truncated.json":              "unexpected end of JSON input",
	"truncated_utf8.json":         "unexpected end of JSON input",
	"trailing_garbage.json":       "after the JSON object",
	"trailing_second_object.json": "after the JSON object",
	"trailing_comma.json":         "malformed JSON",
	"toplevel_array.json":         "body is a JSON array",
	"toplevel_string.json":        "body is a JSON string",
	"toplevel_number.json":        "body is not a JSON object",
	"toplevel_bool.json":          "body is not a JSON object",
	"toplevel_null.json":          "body is null",
	"entry_object.json":           `field "entry" must be an array, got object`,
	"changes_string.json":         `field "entry.changes" must be an array, got string`,
	"statuses_object.json":        `field "entry.changes.value.statuses" must be an array, got object`,
	"messages_number.json":        `field "entry.changes.value.messages" must be an array, got number`,
	"timestamp_bool.json":         `field "entry.changes.value.messages.timestamp" must be a Unix timestamp (a string or a number), got bool`,
	"timestamp_object.json":       `field "entry.changes.value.statuses.timestamp" must be a Unix timestamp (a string or a number), got object`,
	"item_price_object.json":      `field "entry.changes.value.messages.order.product_items.item_price" must be a number (or a string holding one), got object`,
	"error_code_string.json":      `field "entry.changes.value.statuses.errors.code" must be an integer, got string`,
	"contact_profile_string.json": `field "entry.changes.value.contacts.profile" must be an object, got string`,
	"nested_garbage.json":         `field "entry" must be an object, got array`,
	"deeply_nested.json":          "exceeded max depth",
	"object_page.json":            `"object" is "page", not "whatsapp_business_account"`,
	"object_missing.json":         `"object" is missing`,
	"entry_missing.json":          `"entry" is missing or null`,
	"entry_null.json":             `"entry" is missing or null`,
	"change_without_value.json":   `entry[0].changes[0] has no "value"`,
	"value_null.json":             `entry[0].changes[0] has no "value"`,
	"status_null.json":            `entry[0].changes[0].value.statuses[1] is null`,
	"message_null.json":           `entry[0].changes[0].value.messages[0] is null`,
	"entry_element_null.json":     `entry[0] is empty or null`,
	"change_null.json":            `entry[0].changes[0] has no "value"`,
	"contact_null.json":           `entry[0].changes[0].value.contacts[0] is null`,
}

func TestParseInvalidCorpus(t *testing.T) {
	names, files := corpus(t, "invalid")
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			want, ok := invalidCases[name]
			if !ok {
				t.Fatalf("testdata/invalid/%s has no entry in invalidCases", name)
			}
			n, err := Parse(files[name])
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", n)
			}
			if n != nil {
				t.Errorf("Parse returned a notification with its error")
			}
			if !errors.Is(err, ErrInvalidNotification) {
				t.Errorf("error %v does not wrap ErrInvalidNotification", err)
			}
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error = %q\nwant it to contain %q", err, want)
			}
		})
	}
	for name := range invalidCases {
		if _, ok := files[name]; !ok {
			t.Errorf("invalidCases names %s, which is not in testdata/invalid", name)
		}
	}
}

func TestParseNilAndOddInputs(t *testing.T) {
	for _, body := range [][]byte{nil, {}, []byte("\xef\xbb\xbf{}"), []byte("{}}")} {
		if _, err := Parse(body); !errors.Is(err, ErrInvalidNotification) {
			t.Errorf("Parse(%q) error = %v, want ErrInvalidNotification", body, err)
		}
	}
	// The smallest notification parses, and its empty entry array stays
	// an empty array.
	n, err := Parse([]byte(` {"object":"whatsapp_business_account","entry":[]} `))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := json.Marshal(n); err != nil || string(out) != `{"entry":[],"object":"whatsapp_business_account"}` {
		t.Errorf("the smallest notification marshals as %s, %v", out, err)
	}
}

func TestTimestamp(t *testing.T) {
	tests := []struct {
		json     string
		unix     int64
		ok       bool
		zero     bool
		marshals string
	}{
		{`"1700000001"`, 1700000001, true, false, `"1700000001"`},
		{`1700000001`, 1700000001, true, false, `1700000001`},
		{`"1700000001.0"`, 1700000001, true, false, `"1700000001.0"`},
		{`1.7e9`, 1700000000, true, false, `1.7e9`},
		{`"1700000001.5"`, 0, false, false, `"1700000001.5"`},
		{`"yesterday"`, 0, false, false, `"yesterday"`},
		{`""`, 0, false, true, ``},
		{`null`, 0, false, true, ``},
		{`-1`, -1, true, false, `-1`},
	}
	for _, tt := range tests {
		var ts Timestamp
		if err := json.Unmarshal([]byte(tt.json), &ts); err != nil {
			t.Errorf("Unmarshal(%s): %v", tt.json, err)
			continue
		}
		u, ok := ts.Unix()
		if u != tt.unix || ok != tt.ok {
			t.Errorf("%s: Unix() = %d, %v; want %d, %v", tt.json, u, ok, tt.unix, tt.ok)
		}
		if ts.IsZero() != tt.zero {
			t.Errorf("%s: IsZero() = %v", tt.json, ts.IsZero())
		}
		if !tt.ok && !ts.Time().IsZero() {
			t.Errorf("%s: Time() = %v, want the zero time", tt.json, ts.Time())
		}
		b, err := json.Marshal(struct {
			T Timestamp `json:"t,omitzero"`
		}{ts})
		if err != nil {
			t.Errorf("%s: Marshal: %v", tt.json, err)
			continue
		}
		want := `{}`
		if tt.marshals != "" {
			want = `{"t":` + tt.marshals + `}`
		}
		if string(b) != want {
			t.Errorf("%s: marshals to %s, want %s", tt.json, b, want)
		}
	}
	for _, bad := range []string{`true`, `{}`, `[]`} {
		var ts Timestamp
		err := json.Unmarshal([]byte(bad), &ts)
		var typ *json.UnmarshalTypeError
		if !errors.As(err, &typ) {
			t.Errorf("Unmarshal(%s) error = %v, want an UnmarshalTypeError", bad, err)
		}
	}
}

func TestNumber(t *testing.T) {
	for _, s := range []string{"7.99", "0", "-1", "1e3", "12.50"} {
		n, err := NumberOf(s)
		if err != nil {
			t.Errorf("NumberOf(%q): %v", s, err)
			continue
		}
		b, _ := json.Marshal(n)
		if string(b) != s {
			t.Errorf("NumberOf(%q) marshals to %s", s, b)
		}
	}
	for _, s := range []string{"", "abc", "1.", ".5", "01", `"7"`, "NaN", "{}", "-", "1 ", " 1", "7.99\n", "1e", "[1]"} {
		if n, err := NumberOf(s); err == nil {
			t.Errorf("NumberOf(%q) = %v, want an error", s, n)
		}
	}
	n := IntNumber(42)
	if b, _ := json.Marshal(n); string(b) != "42" {
		t.Errorf("IntNumber(42) marshals to %s", b)
	}
	if i, err := n.Int64(); i != 42 || err != nil {
		t.Errorf("Int64() = %d, %v", i, err)
	}
	var s Number
	if err := json.Unmarshal([]byte(`"7.99"`), &s); err != nil {
		t.Fatal(err)
	}
	if f, err := s.Float64(); f != 7.99 || err != nil {
		t.Errorf("Float64() = %v, %v", f, err)
	}
	if b, _ := json.Marshal(s); string(b) != `"7.99"` {
		t.Errorf("string-form Number marshals to %s", b)
	}
	var zero Number
	if !zero.IsZero() {
		t.Error("zero Number: IsZero() = false")
	}
	if n := IntNumber(0); n.IsZero() {
		t.Error("IntNumber(0) is zero: it would be omitted by omitzero")
	}
}

func TestTimestampOf(t *testing.T) {
	ts := TimestampOf(mustTime(t, "2023-11-14T22:13:21Z"))
	if b, _ := json.Marshal(ts); string(b) != `"1700000001"` {
		t.Errorf("TimestampOf marshals to %s", b)
	}
	if !ts.Time().Equal(mustTime(t, "2023-11-14T22:13:21Z")) {
		t.Errorf("Time() = %v", ts.Time())
	}
}

func TestKnownMessageTypes(t *testing.T) {
	for _, typ := range KnownMessageTypes {
		if !(&Message{Type: typ}).Known() {
			t.Errorf("%q: Known() = false", typ)
		}
	}
	for _, typ := range []MessageType{"", "hologram", "TEXT"} {
		if (&Message{Type: typ}).Known() {
			t.Errorf("%q: Known() = true", typ)
		}
	}
}

func TestInteractiveReplyNil(t *testing.T) {
	var i *Interactive
	if id, title, ok := i.Reply(); id != "" || title != "" || ok {
		t.Errorf("nil Reply() = %q, %q, %v", id, title, ok)
	}
	if _, _, ok := (&Interactive{}).Reply(); ok {
		t.Error("empty Reply() ok")
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// TestNotificationRawIsTheObject: Raw holds the object Parse decoded, without
// the whitespace around it, as Notification.UnmarshalJSON would keep it.
func TestNotificationRawIsTheObject(t *testing.T) {
	const object = `{"object":"whatsapp_business_account","entry":[],"x":1}`
	n, err := Parse([]byte(" \r\n\t" + object + "\n "))
	if err != nil {
		t.Fatal(err)
	}
	var viaMethod Notification
	if err := json.Unmarshal([]byte(object), &viaMethod); err != nil {
		t.Fatal(err)
	}
	if string(n.Raw) != object || string(viaMethod.Raw) != object {
		t.Fatalf("Raw = %q (Parse), %q (UnmarshalJSON); want %q", n.Raw, viaMethod.Raw, object)
	}
}
