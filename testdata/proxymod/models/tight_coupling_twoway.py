"""Tight two-way coupling: as tight coupling, then a feedback round per year: model 1
again on model 2's first and model 3's second output, then models 2 and 3 again."""
from proxymod import Prox


def tight_coupling_twoway(config_1, config_2, config_3):
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
        f1 = Prox(config_1, "model_1_feedback", target_yr=year, in_one=m2.out_file_1, in_two=m3.out_file_2)
        f1.advance()
        f1.close()
        f2 = Prox(config_2, "model_2_feedback", target_yr=year, in_one=f1.out_file_1, in_two=f1.out_file_2)
        f2.advance()
        f2.close()
        f3 = Prox(config_3, "model_3_feedback", target_yr=year, in_one=f2.out_file_1, in_two=f2.out_file_2)
        f3.advance()
        f3.close()
