// Package proxymod runs proxymod model jobs: ingest events whose upload carries proxymod
// model scripts, input CSV files and the models' configuration as transaction key/values.
//
// For now the package holds the route that recognises such events (RouteText, Route),
// written in jsonpath2 so that the same text serves as the dispatcher's route and as the
// filter of a Pacifica notifications subscription.
package proxymod
