// Package proxymod runs proxymod model jobs: ingest events whose upload carries proxymod
// model scripts, input CSV files and the models' configuration as transaction key/values.
//
// The route that recognises such events (RouteText, Route) is written in jsonpath2, so
// that the same text serves as the dispatcher's route and as the filter of a Pacifica
// notifications subscription. NewPlan reads a job from its event and validates it with the
// old dispatcher's messages; WriteConfigs writes the configurations (as given, and absolute
// copies for the models); RunModels runs the model scripts in one Python interpreter in a
// child process (the embedded driver.py), and Handler puts download, compute and upload
// together for the workers.
package proxymod
