package sqlite

import (
	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store/sqlstore"
)

// The schema's rows are read by the code both SQL drivers share; these
// translate its errors at this driver's edge.
const (
	accountColumns  = sqlstore.AccountColumns
	phoneColumns    = sqlstore.PhoneColumns
	endpointColumns = sqlstore.EndpointColumns
	deliveryColumns = sqlstore.DeliveryColumns
)

var ms, fromMS = sqlstore.MS, sqlstore.FromMS

func scanAccount(row sqlstore.Scanner) (bahasha.Account, error) {
	a, err := sqlstore.ScanAccount(row)
	if err != nil {
		return a, translate(err)
	}
	return a, nil
}

func scanPhone(row sqlstore.Scanner) (bahasha.PhoneNumber, error) {
	n, err := sqlstore.ScanPhone(row)
	if err != nil {
		return n, translate(err)
	}
	return n, nil
}

func scanEndpoint(row sqlstore.Scanner, extra ...any) (bahasha.Endpoint, error) {
	e, err := sqlstore.ScanEndpoint(row, extra...)
	if err != nil {
		return e, translate(err)
	}
	return e, nil
}

func scanDelivery(row sqlstore.Scanner) (bahasha.Delivery, error) {
	d, err := sqlstore.ScanDelivery(row)
	if err != nil {
		return d, translate(err)
	}
	return d, nil
}
