// Package proxymod runs proxymod model jobs: uploads that carry proxymod model scripts,
// input CSVs and model configurations as key/values (see the README). This file set holds
// the route that recognises such uploads, written in jsonpath2 so that the same text serves
// as the route of the dispatcher and as the filter of a notifications subscription.
package proxymod
