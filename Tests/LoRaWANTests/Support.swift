import RadioLink

enum RegionIDs {
    static let eu868 = RegionID.eu868.parameters
}
