// SPDX-License-Identifier: Apache-2.0
#pragma once
/// \file spec.h
/// CodecSpec, complete: its fields (spec_fields.h) and its member functions, which the
/// codec registry defines (registry.h), plus the string factory make_codec().

#include "kakeya/codec/registry.h"
#include "kakeya/codec/spec_fields.h"
