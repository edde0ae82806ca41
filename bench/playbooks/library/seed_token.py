# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation stub of the benchmark baseline; the work is in ../action_plugins/seed_token.py.
DOCUMENTATION = r'''
module: seed_token
short_description: Benchmark baseline, the seed's sample pattern (fresh in-memory msal app per task)
description: See action_plugins/seed_token.py.
options: {}
author: identity.entra maintainers
'''
