/// Where an app keeps people, table by table, and what erasing a person does there. The contract test checks
/// the app's merge and forget hooks against it on the app's own fixtures, and that every table the app owns
/// is listed — so a table added without thought for the people in it fails the tests, not an audit.
public struct PersonalTable: Sendable, Equatable {
    /// What erasing an account does to this table's rows of that person. `condition` is SQL over the table's
    /// columns with `:user` for the person's id (`customer_id = :user`).
    public enum Forget: Sendable, Equatable {
        /// The rows go.
        case delete(where: String)
        /// The rows stay (others need them: a request's history) with these columns emptied or replaced.
        case blank([String], where: String)
        /// The rows stay as they are, for the reason given (a review's text and stars, which count for the provider).
        case keep(String)
    }

    public var table: String
    /// Columns that hold a person's id: a merge moves every one of them to the account merged into.
    public var people: [String]
    public var forget: [Forget]

    public init(_ table: String, people: [String] = [], forget: [Forget] = []) {
        self.table = table
        self.people = people
        self.forget = forget
    }
}
