// Tests of common/enum_names.h: names, aliases, outcome-only entries and the error a
// wrong name gets.
#include "common/enum_names.h"

#include <gtest/gtest.h>

namespace iodepth {
namespace {

enum class Colour { kRed, kGreen, kBlue, kNone };

constexpr EnumName<Colour> kColourNames[] = {
    {Colour::kRed, "red"},     {Colour::kGreen, "green"},
    {Colour::kBlue, "blue"},   {Colour::kNone, "n/a", false},  // Printed, never asked for.
    {Colour::kRed, "crimson"},                                 // An alias.
};

TEST(EnumNamesTest, NameOfGivesTheFirstEntrysName) {
  EXPECT_EQ(NameOf(kColourNames, Colour::kRed), "red");
  EXPECT_EQ(NameOf(kColourNames, Colour::kBlue), "blue");
  EXPECT_EQ(NameOf(kColourNames, Colour::kNone), "n/a");
  EXPECT_EQ(NameOf(kColourNames, static_cast<Colour>(42)), "unknown");
}

TEST(EnumNamesTest, EveryParsingNameRoundTripsAndAliasesParse) {
  for (const Colour colour : {Colour::kRed, Colour::kGreen, Colour::kBlue}) {
    const Result<Colour> parsed = ParseNamed(kColourNames, NameOf(kColourNames, colour), "colour", "colour");
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, colour);
  }
  EXPECT_EQ(ValueNamed(kColourNames, "crimson"), Colour::kRed);
}

TEST(EnumNamesTest, AnOutcomeOnlyNameDoesNotParse) { EXPECT_FALSE(ValueNamed(kColourNames, "n/a").has_value()); }

TEST(EnumNamesTest, ChoicesListEachParsingValueOnceUnderItsName) {
  EXPECT_EQ(ChoicesOf(kColourNames), "red, green or blue");
  constexpr EnumName<Colour> kOne[] = {{Colour::kRed, "red"}};
  EXPECT_EQ(ChoicesOf(kOne), "red");
  constexpr EnumName<Colour> kTwo[] = {{Colour::kRed, "red"}, {Colour::kBlue, "blue"}};
  EXPECT_EQ(ChoicesOf(kTwo), "red or blue");
}

TEST(EnumNamesTest, AWrongNameSaysWhatWasWrongAndNamesTheSetting) {
  const Result<Colour> parsed = ParseNamed(kColourNames, "mauve", "colour", "paint_colour");
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parsed.error().message(), "unknown colour 'mauve'; choose red, green or blue");
  EXPECT_EQ(parsed.error().setting(), "paint_colour");
  EXPECT_FALSE(ParseNamed(kColourNames, "", "colour", "paint_colour").has_value());
}

}  // namespace
}  // namespace iodepth
