"""Tight coupling: for each year the chain model 1 -> 2 -> 3 runs on that year alone."""
from proxymod import Prox


def tight_coupling(config_1, config_2, config_3):
    for year in (2010, 2015, 2020, 2025):
        m1 = Prox(config_1, "model_1", target_yr=year)
        m1.advance()
        m1.close()
        m2 = Prox(config_2, "model_2", target_yr=year, in_one=m1.out_file_1, in_two=m1.out_file_2)
        m2.advance()
        m2.close()
        m3 = Prox(config_3, "model_3", target_yr=year, in_one=m2.out_file_1, in_two=m2.out_file_2)
        m3.advance()
        m3.close()
