package web

import "github.com/pivand/pivand/internal/contact"

// The timeline entry of a person an import created or updated
// (contact.imported): which file, which import and which line.
func init() {
	registerTimeline(contact.EventContactImported, timelineRenderer{Icon: "person",
		Payload: func() any { return new(contact.ImportedPayload) }})
}
