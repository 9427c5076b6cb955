"""Loose coupling: each model runs once over 2010-2100; model 2 reads model 1's outputs,
model 3 reads model 2's."""
from proxymod import Prox


def loose_coupling(config_1, config_2, config_3):
    years = dict(start_yr=2010, end_yr=2100, step=5)
    m1 = Prox(config_1, "model_1", **years)
    for _ in m1.years:
        m1.advance()
    m1.close()
    m2 = Prox(config_2, "model_2", in_one=m1.out_file_1, in_two=m1.out_file_2, **years)
    for _ in m2.years:
        m2.advance()
    m2.close()
    m3 = Prox(config_3, "model_3", in_one=m2.out_file_1, in_two=m2.out_file_2, **years)
    for _ in m3.years:
        m3.advance()
    m3.close()
