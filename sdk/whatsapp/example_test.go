package whatsapp_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/bahasha/bahasha/sdk/whatsapp"
)

func ExampleParse() {
	body := []byte(`{
	  "object": "whatsapp_business_account",
	  "entry": [{
	    "id": "WABA_ID",
	    "changes": [{
	      "field": "messages",
	      "value": {
	        "messaging_product": "whatsapp",
	        "metadata": {"display_phone_number": "+254700000000", "phone_number_id": "123456789"},
	        "statuses": [{
	          "id": "wamid.HBgNMjU0NzEyMzQ1Njc4FQIAERgSNDQ1",
	          "status": "delivered",
	          "timestamp": "1700000001",
	          "recipient_id": "254712345678"
	        }]
	      }
	    }]
	  }]
	}`)
	n, err := whatsapp.Parse(body)
	if err != nil {
		fmt.Println(err)
		return
	}
	s := n.Entry[0].Changes[0].Value.Statuses[0]
	fmt.Println(s.Status, s.ID, s.RecipientID, s.Timestamp.Time())

	_, err = whatsapp.Parse([]byte(`{"object":"whatsapp_business_account","entry":{"id":"WABA_ID"}}`))
	fmt.Println(errors.Is(err, whatsapp.ErrInvalidNotification))
	fmt.Println(err)
	// Output:
	// delivered wamid.HBgNMjU0NzEyMzQ1Njc4FQIAERgSNDQ1 254712345678 2023-11-14 22:13:21 +0000 UTC
	// true
	// whatsapp: invalid notification: field "entry" must be an array, got object
}

func ExampleNotification_Statuses() {
	n, _ := whatsapp.Parse([]byte(`{"object":"whatsapp_business_account","entry":[{"id":"WABA_ID","changes":[{"field":"messages","value":{
	  "messaging_product":"whatsapp",
	  "metadata":{"display_phone_number":"+254700000000","phone_number_id":"123456789"},
	  "statuses":[
	    {"id":"wamid.1","status":"sent","timestamp":"1700000000","recipient_id":"254712345678"},
	    {"id":"wamid.2","status":"failed","timestamp":"1700000010","recipient_id":"254712345678",
	     "errors":[{"code":131026,"title":"Message undeliverable","message":"This message is undeliverable",
	                "error_data":{"details":"The recipient phone number is not a WhatsApp phone number."}}]}
	  ]}}]}]}`))
	for ev := range n.Statuses() {
		fmt.Printf("%s: [%s] message %s\n", ev.Metadata.DisplayPhoneNumber, ev.Status.Status, ev.Status.ID)
		if e := ev.Status.FirstError(); e != nil {
			fmt.Printf("  error %d %s: %s\n", e.Code, e.Title, e.ErrorData.Details)
		}
	}
	// Output:
	// +254700000000: [sent] message wamid.1
	// +254700000000: [failed] message wamid.2
	//   error 131026 Message undeliverable: The recipient phone number is not a WhatsApp phone number.
}

func ExampleNotification_Messages() {
	// One batch, two customers: each message is paired with its sender's
	// contact by wa_id, not with the first contact; a sender with no contact
	// in the batch gets nil.
	n, _ := whatsapp.Parse([]byte(`{"object":"whatsapp_business_account","entry":[{"id":"WABA_ID","changes":[{"field":"messages","value":{
	  "messaging_product":"whatsapp",
	  "metadata":{"display_phone_number":"+254700000000","phone_number_id":"123456789"},
	  "contacts":[
	    {"profile":{"name":"Amina"},"wa_id":"254711000001"},
	    {"profile":{"name":"Baraka"},"wa_id":"254711000002"}
	  ],
	  "messages":[
	    {"from":"254711000002","id":"wamid.1","timestamp":"1700000001","type":"text","text":{"body":"Habari!"}},
	    {"from":"254711000001","id":"wamid.2","timestamp":"1700000002","type":"interactive",
	     "interactive":{"type":"button_reply","button_reply":{"id":"yes","title":"Yes, confirm"}}},
	    {"from":"254711000003","id":"wamid.3","timestamp":"1700000003","type":"reaction",
	     "reaction":{"message_id":"wamid.0","emoji":"👍"}}
	  ]}}]}]}`))
	for ev := range n.Messages() {
		name := "(no contact)"
		if ev.Contact != nil {
			name = ev.Contact.Profile.Name
		}
		m := ev.Message
		switch m.Type {
		case whatsapp.MessageText:
			fmt.Printf("%s: %q\n", name, m.Text.Body)
		case whatsapp.MessageInteractive:
			id, title, _ := m.Interactive.Reply()
			fmt.Printf("%s tapped %q (%s)\n", name, title, id)
		case whatsapp.MessageReaction:
			fmt.Printf("%s reacted %s to %s\n", name, m.Reaction.Emoji, m.Reaction.MessageID)
		}
	}
	// Output:
	// Baraka: "Habari!"
	// Amina tapped "Yes, confirm" (yes)
	// (no contact) reacted 👍 to wamid.0
}

func ExampleTimestamp() {
	var v struct {
		A whatsapp.Timestamp `json:"a"`
		B whatsapp.Timestamp `json:"b"`
		C whatsapp.Timestamp `json:"c,omitzero"`
	}
	// WhatsApp sends strings; some producers send numbers.
	_ = json.Unmarshal([]byte(`{"a":"1700000001","b":1700000005}`), &v)
	a, _ := v.A.Unix()
	b, _ := v.B.Unix()
	fmt.Println(a, b, v.B.Time().Format("2006-01-02 15:04:05"))
	_, ok := v.C.Unix()
	fmt.Println("c present:", ok)

	// Each keeps its form; the absent one is omitted.
	out, _ := json.Marshal(v)
	fmt.Println(string(out))
	// Output:
	// 1700000001 1700000005 2023-11-14 22:13:25
	// c present: false
	// {"a":"1700000001","b":1700000005}
}

func ExampleNumber() {
	var order whatsapp.Order
	_ = json.Unmarshal([]byte(`{"product_items":[
	  {"product_retailer_id":"kikoi","quantity":2,"item_price":7.99,"currency":"USD"},
	  {"product_retailer_id":"kanga","quantity":"1","item_price":"1250.00","currency":"KES"}]}`), &order)
	for _, it := range order.ProductItems {
		q, _ := it.Quantity.Int64()
		f, _ := it.ItemPrice.Float64()
		fmt.Printf("%d × %s %s (%.2f)\n", q, it.ItemPrice, it.Currency, f)
	}
	price, _ := whatsapp.NumberOf("7.99")
	out, _ := json.Marshal(whatsapp.ProductItem{ProductRetailerID: "kikoi", Quantity: whatsapp.IntNumber(3), ItemPrice: price, Currency: "USD"})
	fmt.Println(string(out))
	// Output:
	// 2 × 7.99 USD (7.99)
	// 1 × 1250.00 KES (1250.00)
	// {"product_retailer_id":"kikoi","quantity":3,"item_price":7.99,"currency":"USD"}
}

// A message type this version does not know parses without error; its
// content is read from Raw.
func ExampleMessage_Known() {
	n, _ := whatsapp.Parse([]byte(`{"object":"whatsapp_business_account","entry":[{"id":"WABA_ID","changes":[{"field":"messages","value":{
	  "messages":[{"from":"254711000001","id":"wamid.9","timestamp":"1700000009","type":"hologram",
	    "hologram":{"id":"9981726354","duration_ms":4200}}]}}]}]}`))
	for ev := range n.Messages() {
		m := ev.Message
		if m.Known() {
			continue
		}
		var h struct {
			Hologram struct {
				ID         string `json:"id"`
				DurationMS int    `json:"duration_ms"`
			} `json:"hologram"`
		}
		if err := json.Unmarshal(m.Raw, &h); err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Printf("unknown type %q: id %s, %d ms\n", m.Type, h.Hologram.ID, h.Hologram.DurationMS)
	}
	// Marshalling gives the unknown content back.
	out, _ := json.Marshal(n.Entry[0].Changes[0].Value.Messages[0])
	fmt.Println(string(out))
	// Output:
	// unknown type "hologram": id 9981726354, 4200 ms
	// {"from":"254711000001","hologram":{"duration_ms":4200,"id":"9981726354"},"id":"wamid.9","timestamp":"1700000009","type":"hologram"}
}
